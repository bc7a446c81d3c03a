"""The lottery recipe: a study's trial -> data, model -> rounds -> CSV, store and chart.

Like the study's objective it wires library pieces together and owns no logic of its own.
Every argument, the study, the trial and the model are checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from hpo.config import StudyConfig, resolve_storage, study_dir_for
from hpo.errors import HpoError
from hpo.lottery.chart import write_chart
from hpo.lottery.experiment import LotteryExperiment, RoundResult
from hpo.lottery.records import (
    LotteryCsv,
    LotteryStore,
    csv_path,
    lottery_study_name,
    round_row,
)
from hpo.lottery.settings import LotterySettings
from hpo.lottery.source import select_trial
from hpo.study.storage import mask_url, parse_storage_url
from hpo.tasks import get_task
from hpo.training import DivergedError
from hpo.training.device import choose_device, describe

Echo = Callable[[str], None]


@dataclass
class LotterySummary:
    """What one ``hpo lottery`` run did and where it left its results."""

    study: str
    trial: int
    reset: str
    store_study: str
    storage: str  # password masked
    csv: Path
    chart: Path
    metric: str
    results: list[RoundResult] = field(default_factory=list)

    def text(self) -> str:
        if not self.results:
            return f"no round finished; nothing recorded for study {self.study}"
        dense, last = self.results[0], self.results[-1]
        return (
            f"done: {len(self.results)} round(s) of {self.reset} reset from trial {self.trial}"
            f" of {self.study}; {self.metric} {dense.value:.4g} dense,"
            f" {last.value:.4g} with {100 * last.remaining:.3g}% of the weights left;"
            f" {self.csv}, study {self.store_study} in {self.storage}, chart {self.chart}"
        )


def describe_round(result: RoundResult, rounds: int, metric: str) -> str:
    """One progress line per round."""
    test = (
        f", test {result.test_metrics[metric]:.4f}"
        if result.test_metrics and metric in result.test_metrics
        else ""
    )
    return (
        f"round {result.round}/{rounds - 1}: {100 * result.remaining:.2f}% of weights left,"
        f" dev {metric} {result.value:.4f}{test}, {result.epochs} epoch(s),"
        f" {result.seconds:.1f}s"
    )


def run_lottery(
    config: StudyConfig,
    settings: LotterySettings,
    *,
    storage: str | None = None,
    device: str | None = None,
    echo: Echo = print,
) -> LotterySummary:
    """Run iterative magnitude pruning on a trial of ``config``'s study and record it.

    ``device`` (``--device``) overrides the study's ``training.device``.

    Example:
        .. code-block:: python

            from hpo.config import load_study_config
            from hpo.lottery import LotterySettings, run_lottery

            summary = run_lottery(load_study_config("demo"), LotterySettings(rounds=5))
            print(summary.text())
    """
    settings.check()
    run_on = choose_device(device, config.training.device)
    storage_url = resolve_storage(storage, config)
    parse_storage_url(storage_url)
    source = select_trial(config, settings.trial, storage_url)

    task = get_task(config.task)
    splits = task.encode(task.prepare(config), source.params)
    if config.training.threads:
        torch.set_num_threads(config.training.threads)
    fit_settings = task.settings(
        config, source.params, source.seed, splits, max_epochs=settings.epochs
    )
    # Rounds are scored per epoch; reports within one would only validate more.
    fit_settings.report_every = "1 epoch"
    experiment = LotteryExperiment(
        task,
        splits,
        source.params,
        fit_settings,
        settings,
        run_on,
        source.seed,
        objective_value=config.objective_value,
    )

    # Everything is checked: from here on results are written.
    study_dir = study_dir_for(config.name)
    store_name = lottery_study_name(config.name, settings.reset)
    store = LotteryStore(
        storage_url,
        store_name,
        direction=config.direction,
        rounds=settings.rounds,
        attrs={
            "source_study": config.name,
            "source_trial": source.number,
            "source_value": source.value,
            "params": source.params,
            "seed": source.seed,
            "metric": config.metric,
            "reset": settings.reset,
            "scope": settings.scope,
            "percent": settings.percent,
            "skip": list(settings.skip),
            "device": describe(run_on),
        },
    )
    log = LotteryCsv(csv_path(study_dir, settings.reset))
    summary = LotterySummary(
        study=config.name,
        trial=source.number,
        reset=settings.reset,
        store_study=store_name,
        storage=mask_url(storage_url),
        csv=log.path,
        chart=study_dir / "lottery.html",
        metric=config.metric,
    )
    echo(
        f"lottery: trial {source.number} of {config.name}, {settings.rounds} round(s),"
        f" {settings.percent:g}% pruned per round ({settings.scope}), {settings.reset} reset,"
        f" {len(experiment.masks)} prunable tensors, {experiment.masks.total()} weights,"
        f" on {describe(run_on)}"
    )
    try:
        for result in experiment.rounds():
            log.append(
                round_row(result, reset=settings.reset, scope=settings.scope, metric=config.metric)
            )
            store.add_round(result, metric=config.metric)
            summary.results.append(result)
            echo(describe_round(result, settings.rounds, config.metric))
    except DivergedError as exc:
        raise HpoError(f"round {len(summary.results)} diverged: {exc}") from None
    finally:
        if summary.results:
            write_chart(study_dir, config.name)
    return summary
