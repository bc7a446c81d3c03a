"""The epoch callback that reports to Optuna and stops weak trials."""

from __future__ import annotations

import optuna

from hpo.config import PrunerConfig
from hpo.study.trivial import TrivialFloor
from hpo.training import EpochRecord


def first_rung(config: PrunerConfig) -> int | None:
    """The first step at which the study's pruner may stop a trial; None without pruning.

    Example:
        >>> first_rung(PrunerConfig(type="successive_halving", min_resource=2))
        2
    """
    if config.type == "none":
        return None
    if config.type == "median":
        return config.n_warmup_steps + 1
    return 1 if config.min_resource == "auto" else config.min_resource


class PruningCallback:
    """After every epoch: ``trial.report(value, epoch)``; raise ``TrialPruned`` when told to.

    From the first rung on, a trial no better than the trivial predictor (``floor``) is
    pruned too, with the reason in its ``stop_reason``.

    Example:
        .. code-block:: python

            fit(model, train, dev, params, settings, callbacks=[PruningCallback(trial, "f1")])
    """

    def __init__(
        self,
        trial: optuna.Trial,
        metric: str,
        floor: TrivialFloor | None = None,
        first_rung: int | None = None,
    ):
        self.trial = trial
        self.metric = metric
        self.floor = floor
        self.first_rung = first_rung

    def __call__(self, record: EpochRecord) -> None:
        value = record.value(self.metric)
        step = record.epoch
        self.trial.report(value, step)
        hopeless = (
            self.floor is not None
            and self.first_rung is not None
            and step >= self.first_rung
            and self.floor.is_hopeless(value, record.val_loss)
        )
        if hopeless or self.trial.should_prune():
            self.trial.set_user_attr("pruned_at_epoch", step)
            reason = f"pruned after epoch {step} ({self.metric}={value:.4f})"
            if hopeless:
                reason = self.floor.reason(value, step)
                self.trial.set_user_attr("stop_reason", reason)
            raise optuna.TrialPruned(reason)
