"""``hpo report``: one self-contained HTML page of what a study found.

The page carries its own copy of plotly.js, so it opens offline and loads nothing from the
network. Its header holds the study's config, the store (password masked), counts by state,
the time spent in each state, the time pruning saved and how that is estimated, what the
trials saw and on which devices; then come the figures of :mod:`hpo.results.report_figures` and a
table of the best trials.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config import study_dir_for
from hpo.results.listing import require_single_objective, write_text
from hpo.results.pruning_effect import (
    PruningSaving,
    StateTime,
    epochs_trained,
    pruning_saving,
    rung_epochs,
    rung_shares,
    time_by_state,
)
from hpo.results.report_figures import Figure, all_figures, figure_html
from hpo.run_layout import trial_dir
from hpo.study.kept_trials import complete_best_first
from hpo.study.storage import mask_url
from hpo.study.stored import load_stored_study, resolve_study
from hpo.study.trial_cost import trial_cost, wall_seconds
from hpo.study.trial_steps import epochs_reached, format_epochs

TOP_TRIALS = 10
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class ReportResult:
    """Where a report was written and what it could show."""

    study_name: str
    path: Path
    counts: dict[str, int]
    finished: bool  # at least one complete or pruned trial

    def text(self) -> str:
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.counts.items()))
        line = f"report of study {self.study_name} ({counts or 'no trials'}): {self.path}"
        return line if self.finished else line + " (no finished trial yet)"


def _seconds(value: float | None, exact: bool = False) -> str:
    """Seconds for a reader: ``42.0 s``, ``12.5 min``, ``3.1 h``; ``exact`` adds the seconds
    to minutes and hours."""
    if value is None:
        return "-"
    if value < 90:
        return f"{value:.1f} s"
    text = f"{value / 60:.1f} min" if value < 5400 else f"{value / 3600:.1f} h"
    return f"{text} ({value:,.0f} s)" if exact else text


def _max_epochs(study: optuna.Study, trials: list[FrozenTrial]) -> float:
    """The study's ``max_epochs`` from its stored config, else its longest learning curve."""
    config = study.user_attrs.get("config") or {}
    longest = max((epochs_reached(t) for t in trials), default=0.0)
    return (config.get("training") or {}).get("max_epochs") or longest


def _state_time(time: StateTime) -> str:
    if not time.trials:
        return "none"
    text = f"{_seconds(time.wall_s)} over {time.trials} trial{'s' if time.trials > 1 else ''}"
    if time.measured:
        text += f": {_seconds(time.train_s)} training, {_seconds(time.val_s)} validation"
        if time.measured < time.trials:
            text += f" (recorded by {time.measured} of them)"
    return text


def _saving_method(saving: PruningSaving, max_epochs: float) -> str:
    if not saving.measured and not saving.from_wall:
        return "no trial was pruned before its last epoch"

    def trials(n: int) -> str:
        return f"{n} trial{'s' if n > 1 else ''}, at {'its' if n == 1 else 'their'} own"

    ways = []
    if saving.measured:
        ways.append(
            f"{trials(saving.measured)} measured seconds per training example "
            "(training and validation time)"
        )
    if saving.from_wall:
        ways.append(
            f"{trials(saving.from_wall)} wall-clock seconds per epoch, as "
            f"{'it' if saving.from_wall == 1 else 'they'} recorded no cost "
            "(set-up included, so a little high)"
        )
    return (
        f"for each pruned trial, a full run of {format_epochs(max_epochs)} epochs minus what it "
        "ran: " + "; ".join(ways)
    )


def _cost_facts(trials: list[FrozenTrial]) -> list[tuple[str, str]]:
    costs = [trial_cost(t) for t in trials]
    examples = [c.examples_seen for c in costs if c.examples_seen is not None]
    tokens = [c.tokens_seen for c in costs if c.tokens_seen is not None]
    devices = Counter(c.device for c in costs if c.device)
    facts = []
    if examples or tokens:
        seen = [f"{sum(examples):,} examples"] if examples else []
        seen += [f"{sum(tokens):,} tokens"] if tokens else []
        facts.append(("seen in training", ", ".join(seen)))
    if devices:
        on = [f"{d}: {n} trial{'s' if n > 1 else ''}" for d, n in devices.most_common()]
        facts.append(("devices", "; ".join(on)))
    return facts


def _param(value: object) -> object:
    return f"{value:.4g}" if isinstance(value, float) else value


def top_trials(study: optuna.Study, limit: int = TOP_TRIALS) -> list[FrozenTrial]:
    """The best ``limit`` complete trials, best first (an earlier trial wins a tie)."""
    return [trial for _, trial in complete_best_first(study)[:limit]]


def _pruning_facts(study: optuna.Study, trials: list[FrozenTrial]) -> list[tuple[str, str]]:
    config = study.user_attrs.get("config") or {}
    trained, unpruned = epochs_trained(trials, _max_epochs(study, trials))
    facts = [
        (
            "epochs trained",
            f"{format_epochs(trained)} of {format_epochs(unpruned)} without pruning",
        )
    ]
    shares = rung_shares(trials, rung_epochs(config, study.user_attrs.get("epoch_examples")))
    if shares:
        factor = (config.get("pruner") or {}).get("reduction_factor", 3)
        facts.append(
            (
                "went on past each rung",
                ", ".join(s.text() for s in shares) + f" (SuccessiveHalving aims at 1 in {factor})",
            )
        )
    return facts


def _header(study: optuna.Study, storage_url: str, counts: Counter) -> str:
    attrs = study.user_attrs
    trials = study.get_trials(deepcopy=False)
    spent = time_by_state(trials)
    max_epochs = _max_epochs(study, trials)
    saving = pruning_saving(trials, max_epochs)
    state_counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    facts = [
        ("task", attrs.get("task", "-")),
        ("metric", f"{attrs.get('metric') or 'value'} ({study.direction.name.lower()})"),
        ("storage", mask_url(storage_url)),
        ("study file", attrs.get("study_file") or "-"),
        ("trials", f"{sum(counts.values())}: {state_counts or 'none'}"),
        ("time in complete trials", _state_time(spent[TrialState.COMPLETE])),
        ("time in pruned trials", _state_time(spent[TrialState.PRUNED])),
        ("time in failed trials", _state_time(spent[TrialState.FAIL])),
        ("pruning saved (estimate)", _seconds(saving.seconds, exact=True)),
        ("how the saving is estimated", _saving_method(saving, max_epochs)),
        *_cost_facts(trials),
        *_pruning_facts(study, trials),
    ]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts
    )
    config = attrs.get("config")
    config_block = (
        "<details><summary>study config</summary><pre>"
        + html.escape(json.dumps(config, indent=2, sort_keys=True))
        + "</pre></details>"
        if config
        else "<p class='note'>No study config stored with this study.</p>"
    )
    return f"<table class='facts'>{rows}</table>{config_block}"


def _trials_table(study: optuna.Study, study_dir: Path) -> str:
    trials = top_trials(study)
    if not trials:
        return "<p class='note'>No complete trial yet.</p>"
    params = sorted({name for t in trials for name in t.params})
    head = ["rank", "trial", "value", "state", "best epoch", "duration", *params, "checkpoint"]
    body = []
    for rank, trial in enumerate(trials, 1):
        kept = trial_dir(study_dir, trial.number)
        cells = [
            rank,
            trial.number,
            f"{trial.value:.6g}",
            trial.state.name.lower(),
            trial.user_attrs.get("best_epoch", "-"),
            _seconds(wall_seconds(trial)),
            *(_param(trial.params.get(p, "-")) for p in params),
            str(kept) if kept.is_dir() else "-",
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table class='trials'><tr>{header}</tr>{''.join(body)}</table>"


def _section(figure: Figure) -> str:
    inner = (
        figure_html(figure, _PLOT_CONFIG)
        if figure.figure is not None
        else f"<p class='note'>{html.escape(figure.note)}</p>"
    )
    return f"<section id='{figure.key}'><h2>{html.escape(figure.title)}</h2>{inner}</section>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 3px 10px; text-align: left; border-bottom: 1px solid #eee; }
table.facts th { color: #555; font-weight: normal; }
table.trials th { background: #f4f4f4; }
.note { color: #a0522d; font-style: italic; }
.empty { font-size: 1.3em; color: #a0522d; }
pre { background: #f7f7f7; padding: 1em; overflow: auto; }
"""


def render_html(study: optuna.Study, storage_url: str, study_dir: Path) -> str:
    """The whole report page of ``study`` as one HTML string, plotly.js included."""
    from plotly.offline import get_plotlyjs

    trials = study.get_trials(deepcopy=False)
    counts = Counter(t.state.name for t in trials)
    metric = study.user_attrs.get("metric") or "value"
    finished = counts[TrialState.COMPLETE.name] + counts[TrialState.PRUNED.name]
    if finished:
        body = "".join(_section(f) for f in all_figures(study, metric))
        body += "<section id='top'><h2>Top trials</h2>"
        body += _trials_table(study, study_dir) + "</section>"
    else:
        body = (
            "<p class='empty'>This study has no finished trial yet: nothing to plot. "
            "Run <code>hpo optimize</code> and make the report again.</p>"
        )
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    name = html.escape(study.study_name)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>hpo report: {name}</title><style>{_CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>Study {name}</h1><p>Report made {made}.</p>"
        f"{_header(study, storage_url, counts)}{body}</body></html>"
    )


def write_report(ref: str, storage: str | None = None, out: Path | None = None) -> ReportResult:
    """Write the HTML report of a study (a study file's name or a stored study's name).

    The page goes to ``out``, by default ``runs/<study>/report.html``.

    Example:
        .. code-block:: python

            result = write_report("demo")
            print(result.path)  # runs/demo/report.html
    """
    name, _, storage_url = resolve_study(ref, storage)
    study = require_single_objective(load_stored_study(name, storage_url))
    study_dir = study_dir_for(name)
    path = out or study_dir / "report.html"
    write_text(path, render_html(study, storage_url, study_dir))
    counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    finished = any(s in counts for s in (TrialState.COMPLETE.name, TrialState.PRUNED.name))
    return ReportResult(name, path, dict(counts), finished)


__all__ = ["ReportResult", "render_html", "top_trials", "write_report"]
