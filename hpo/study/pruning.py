"""The epoch callback that reports to Optuna and stops weak trials."""

from __future__ import annotations

import optuna

from hpo.config import PrunerConfig
from hpo.training import EpochRecord
from hpo.training.trivial import LOSS_MARGIN, TrivialFloor


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

    From the first rung on, a trial no better than the trivial predictor (``floor``) at two
    reports in a row, its loss not falling between them, is pruned too, with the reason in
    its ``stop_reason``; not at its last step (``last_step``), where stopping saves nothing.

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
        last_step: int | None = None,
    ):
        self.trial = trial
        self.metric = metric
        self.floor = floor
        self.first_rung = first_rung
        self.last_step = last_step
        self._before: tuple[bool, float] | None = None  # (at the floor, loss) of the last report

    def __call__(self, record: EpochRecord) -> None:
        value = record.value(self.metric)
        step = record.epoch
        self.trial.report(value, step)
        hopeless = self._hopeless(value, record.val_loss, step)
        if hopeless or self.trial.should_prune():
            self.trial.set_user_attr("pruned_at_epoch", step)
            reason = f"pruned after epoch {step} ({self.metric}={value:.4f})"
            if hopeless and self.floor is not None:
                reason = self.floor.reason(value, step)
                self.trial.set_user_attr("stop_reason", reason)
            raise optuna.TrialPruned(reason)

    def _hopeless(self, value: float, val_loss: float, step: int) -> bool:
        """At the trivial level now and at the report before, with no fall in loss between.

        One report at the floor is not enough: a model can sit at the majority class for its
        first few hundred steps and then learn; two in a row whose loss did not fall are.
        """
        if self.floor is None or self.first_rung is None:
            return False
        at_floor = self.floor.is_hopeless(value, val_loss)
        before, self._before = self._before, (at_floor, val_loss)
        if before is None or not (at_floor and before[0]):
            return False
        stalled = val_loss > before[1] - LOSS_MARGIN
        in_window = step >= self.first_rung and (self.last_step is None or step < self.last_step)
        return stalled and in_window
