"""`hpo report`: a user runs a small study, makes its report and opens it in a browser."""

from __future__ import annotations

import html.parser
import re

import optuna
import pytest
from optuna.trial import TrialState

from hpo.cli import main
from hpo.results.report import render_html, top_trials
from hpo.results.report_figures import learning_curves
from tests.browser import view_page
from tests.conftest import run_hpo

FIGURES = {"fig-history", "fig-curves", "fig-parallel", "fig-importances", "fig-slices"}


@pytest.fixture(scope="module")
def studied(small_store):
    """A working directory where `hpo optimize` ran 8 trials of the small study alpha."""
    study = optuna.load_study(study_name="alpha", storage=f"sqlite:///{small_store}/runs/hpo.db")
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= {t.state for t in study.get_trials()}
    return small_store, study


class _Links(html.parser.HTMLParser):
    """Every src and href of the page's tags (script bodies are data, not tags)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_report_opens_offline_and_draws_every_plot(studied, tmp_path):
    cwd, study = studied
    result = run_hpo("report", "--study", "alpha", cwd=cwd)
    assert result.returncode == 0, result.stderr
    page = cwd / "runs/alpha/report.html"
    assert str(page.relative_to(cwd)) in result.stdout

    # Nothing in the page points outside it: plotly.js is inside.
    parser = _Links()
    parser.feed(page.read_text())
    assert not [link for link in parser.links if re.match(r"(https?:)?//", link)]

    view = view_page(page, tmp_path / "report.png")
    assert view.requests == [page.resolve().as_uri()]
    assert view.errors == []
    assert {plot["id"] for plot in view.plots} == FIGURES
    for plot in view.plots:
        assert plot["width"] > 0 and plot["height"] > 0, plot
        assert plot["svgs"] > 0 and plot["traces"] > 0 and plot["marks"] > 0, plot
    legends = {plot["id"]: plot["legend"] for plot in view.plots}
    assert "best so far" in legends["fig-history"]
    assert {"complete", "pruned"} <= set(legends["fig-curves"])
    assert view.screenshot.stat().st_size > 50_000

    # The header says what the store holds and what pruning saved.
    counts = {s: sum(t.state == s for t in study.get_trials()) for s in TrialState}
    assert f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned" in (
        view.text
    )
    assert "pruning saved" in view.text
    # ... how many epochs the trials trained, and how many went on past each rung (alpha:
    # 3 epochs, SuccessiveHalving with reduction factor 2, so rungs at epochs 1 and 2).
    finished = [
        t for t in study.get_trials() if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
    ]
    trained = sum(len(t.intermediate_values) for t in finished)
    unpruned = sum(
        3 if t.state == TrialState.PRUNED else len(t.intermediate_values) for t in finished
    )
    assert f"{trained} of {unpruned} without pruning" in view.text
    assert trained < unpruned
    for rung in (1, 2):
        reached = sum(len(t.intermediate_values) >= rung for t in finished)
        went_on = sum(len(t.intermediate_values) > rung for t in finished)
        assert f"epoch {rung}: {went_on}/{reached} (" in view.text
    assert "(SuccessiveHalving aims at 1 in 2)" in view.text
    assert "sqlite:///runs/hpo.db" in view.text
    # The top trials table starts with the best trial and names its checkpoint.
    best = study.best_trial
    header, first, *_ = view.text.split("Top trials", 1)[1].strip().splitlines()
    row = dict(zip(header.split("\t"), first.split("\t"), strict=True))
    assert (row["rank"], row["trial"], row["state"]) == ("1", str(best.number), "complete")
    assert row["value"] == f"{best.value:.6g}"
    assert row["checkpoint"] == f"runs/alpha/trial-{best.number}"


def test_learning_curves_show_every_trial_and_mark_the_pruned_ones(studied):
    _, study = studied
    figure = learning_curves(study, "accuracy").figure
    trials = study.get_trials()
    assert len(figure.data) == len(trials)
    for trial, trace in zip(trials, figure.data, strict=True):
        # Steps count training examples; the curve is drawn against epochs.
        steps = sorted(trial.intermediate_values)
        assert list(trace.customdata) == steps
        assert list(trace.x) == [step / trial.user_attrs["epoch_examples"] for step in steps]
        assert list(trace.y) == [trial.intermediate_values[step] for step in steps]
        pruned = trial.state == TrialState.PRUNED
        assert (trace.line.dash == "dash") == pruned
        assert (trace.marker.symbol[-1] == "x") == pruned


def test_the_top_trials_are_the_best_complete_ones(studied):
    _, study = studied
    complete = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    expected = sorted(complete, key=lambda t: (-t.value, t.number))
    assert [t.number for t in top_trials(study)] == [t.number for t in expected][:10]


def test_a_password_in_the_storage_url_is_masked(studied):
    cwd, study = studied
    page = render_html(study, "postgresql+psycopg://hpo:s3cret@db/hpo", cwd / "runs/alpha")
    assert "s3cret" not in page
    assert "postgresql+psycopg://hpo:***@db/hpo" in page


def test_a_study_without_a_finished_trial_says_so(workdir):
    storage = "sqlite:///runs/hpo.db"
    (workdir / "runs").mkdir()
    optuna.create_study(study_name="empty", storage=storage)
    waiting = optuna.create_study(study_name="waiting", storage=storage)
    waiting.ask()  # one trial still running

    for name in ("empty", "waiting"):
        out = workdir / f"{name}.html"
        assert main(["report", "--study", name, "--out", str(out)]) == 0
        text = out.read_text()
        assert "no finished trial yet" in text
        assert 'id="fig-' not in text  # no plot


def test_an_unknown_study_is_one_line_of_bad_input(workdir, capsys):
    (workdir / "runs").mkdir()
    optuna.create_study(study_name="other", storage="sqlite:///runs/hpo.db")
    assert main(["report", "--study", "nope"]) == 2
    assert capsys.readouterr().err == (
        "error: no study 'nope' in sqlite:///runs/hpo.db (it holds: other)\n"
    )
    assert not (workdir / "runs/nope").exists()
