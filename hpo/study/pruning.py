"""The epoch callback that reports to Optuna and stops weak trials."""

from __future__ import annotations

import optuna

from hpo.training import EpochRecord


class PruningCallback:
    """After every epoch: ``trial.report(value, epoch)``; raise ``TrialPruned`` when told to.

    Example:
        .. code-block:: python

            fit(model, train, dev, params, settings, callbacks=[PruningCallback(trial, "f1")])
    """

    def __init__(self, trial: optuna.Trial, metric: str):
        self.trial = trial
        self.metric = metric

    def __call__(self, record: EpochRecord) -> None:
        value = record.value(self.metric)
        self.trial.report(value, record.epoch)
        if self.trial.should_prune():
            self.trial.set_user_attr("pruned_at_epoch", record.epoch)
            raise optuna.TrialPruned(
                f"pruned after epoch {record.epoch} ({self.metric}={value:.4f})"
            )
