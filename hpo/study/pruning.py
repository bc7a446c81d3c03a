"""The report callback that tells Optuna how a trial is doing and stops weak trials.

A trial's step is the number of training examples it has seen, so trials of different
batch sizes and corpora are compared at equal data seen, and the pruners' resources
(``min_resource``, Hyperband's ``max_resource``) are in the same unit.
"""

from __future__ import annotations

from fractions import Fraction

import optuna

from hpo.amounts import DataAmount, parse_amount
from hpo.config import PrunerConfig
from hpo.study.trial_cost import RunningCost, record_cost
from hpo.study.trial_steps import format_epochs
from hpo.training import EpochRecord
from hpo.training.trivial import LOSS_MARGIN, TrivialFloor


def first_rung(config: PrunerConfig) -> DataAmount | None:
    """The training data after which the study's pruner may stop a trial; None without
    pruning. ``auto`` (SuccessiveHalving's own estimate) counts from the first report.

    Example:
        >>> str(first_rung(PrunerConfig(type="successive_halving", min_resource=2)))
        '2 epochs'
    """
    if config.type == "none":
        return None
    if config.type == "median":
        return DataAmount(Fraction(config.n_warmup_steps), "epochs")
    if config.min_resource == "auto":
        return DataAmount(Fraction(1), "examples")
    return parse_amount(config.min_resource, "min_resource")


def pruner_step(examples: int, epoch_examples: int, study_epoch: int) -> int:
    """The step a trial reports ``examples`` seen at, in epochs of ``epoch_examples``: the
    examples themselves where its epoch is the study's (``study_epoch``, what the pruner's
    resources in epochs were counted in), else scaled to the study's epoch.

    Translation trials that search the vocabulary sizes filter their training pairs by
    length in subwords, so each trial's epoch is a little shorter than the split as loaded.
    Scaled, every trial's epoch ends fall on the same steps, where SuccessiveHalving's rungs
    in whole epochs are: the rungs compare values of all of dev, and a trial that its time
    limit stops at an epoch's end still reaches the rung there.

    Example:
        >>> pruner_step(5000, 22000, 22000)  # a classifier: steps are examples
        5000
        >>> pruner_step(16252, 16252, 16297)  # the end of a filtered translation epoch
        16297
    """
    if not epoch_examples or epoch_examples == study_epoch:
        return examples
    return examples * study_epoch // epoch_examples


class PruningCallback:
    """At every report: ``trial.report(value, step=examples seen)``; raise ``TrialPruned``
    when told to.

    From the first rung on, a trial no better than the trivial predictor (``floor``) at two
    reports in a row, its loss not falling between them, is pruned too, with the reason in
    its ``stop_reason``; not at its last report (the end of epoch ``max_epochs``), where
    stopping saves nothing. A pruned trial records where it stopped (``pruned_at_epoch``,
    ``pruned_at_examples``); every trial records its cost so far at each report
    (:mod:`hpo.study.trial_cost`), and its ``epoch_examples`` at its first report, so that
    its steps can be read as epochs. ``study_epoch``: the epoch the pruner's resources were
    counted in; a trial whose own epoch differs reports at steps scaled to it
    (:func:`pruner_step`). With ``judge`` false it reports and records, and is never pruned.

    Example:
        .. code-block:: python

            fit(model, train, dev, params, settings, callbacks=[PruningCallback(trial, "f1")])
    """

    def __init__(
        self,
        trial: optuna.Trial,
        metric: str,
        floor: TrivialFloor | None = None,
        first_rung: DataAmount | None = None,
        max_epochs: int | None = None,
        study_epoch: int | None = None,
        judge: bool = True,
    ):
        self.trial = trial
        self.judge = judge
        self.study_epoch = study_epoch
        self.metric = metric
        self.floor = floor
        self.first_rung = first_rung
        self.max_epochs = max_epochs
        self.cost = RunningCost()
        self._before: tuple[bool, float] | None = None  # (at the floor, loss) of the last report
        self._offset: int | None = None  # see ``step``

    def step(self, record: EpochRecord) -> int:
        """The step ``record`` is stored at (:func:`pruner_step`).

        A trial that is not judged trains another on, and that one's time limit may have
        cut its last epoch short: the loop counts the cut as the epoch's end and goes on
        from its real examples, so every later epoch's end would fall that many examples
        short of a whole number of epochs, where readers of the store look for it
        (:func:`hpo.study.trial_steps.epoch_end_values`). Its steps are moved by what its
        first report is off its epoch; a judged trial's steps are its examples.
        """
        steps_epoch = self.study_epoch or record.epoch_examples
        examples = record.examples
        if not self.judge and record.epoch_examples:
            if self._offset is None:
                self._offset = examples - round(record.epoch * record.epoch_examples)
            examples -= self._offset
        return pruner_step(examples, record.epoch_examples, steps_epoch)

    def __call__(self, record: EpochRecord) -> None:
        steps_epoch = self.study_epoch or record.epoch_examples
        if self.cost.examples_seen == 0:  # the first report
            self.trial.set_user_attr("epoch_examples", steps_epoch)
        value = record.value(self.metric)
        step = self.step(record)
        self.trial.report(value, step)
        self.cost.add(record)
        # Every report, not only at the end: the parent of several workers shows a running
        # trial's speed from it, and a trial whose worker is killed keeps what it spent.
        record_cost(self.trial, self.cost)
        if not self.judge:
            return
        hopeless = self._hopeless(value, record.val_loss, step, steps_epoch)
        if hopeless or self.trial.should_prune():
            epoch = format_epochs(record.epoch)
            self.trial.set_user_attr("pruned_at_epoch", float(record.epoch))
            self.trial.set_user_attr("pruned_at_examples", record.examples)
            where = f"epoch {epoch} ({record.examples} examples)"
            reason = f"pruned at {where} ({self.metric}={value:.4f})"
            if hopeless and self.floor is not None:
                reason = self.floor.reason(value, where)
                self.trial.set_user_attr("stop_reason", reason)
            raise optuna.TrialPruned(reason)

    def _hopeless(self, value: float, val_loss: float, step: int, epoch_examples: int) -> bool:
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
        last_step = None if self.max_epochs is None else self.max_epochs * epoch_examples
        in_window = step >= self.first_rung.examples(epoch_examples) and (
            last_step is None or step < last_step
        )
        return stalled and in_window
