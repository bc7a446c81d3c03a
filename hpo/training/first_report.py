"""Whether a run can reach its first report in time, measured on its first optimizer steps.

A run that is given a :class:`ReportLimit` (a trial's time limit, or the time left before
its study ends) times a few optimizer steps of its first epoch, estimates when its first
report will have been validated, and is stopped with :class:`TooSlowError` before it spends
the limit when that is later than the limit. The estimate is measured, never guessed from
the model's size: the same model is fast on a GPU and slow on a CPU, and a batch size or a
sequence length changes its speed as much as its parameters do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpo.durations import format_duration
from hpo.training.report_schedule import ReportSchedule
from hpo.training.task import TrainingTask

# The first steps carry one-off costs (kernels chosen and loaded, memory pools grown, the
# optimizer's state made): on a CPU a small CNN's first step took about 1 s and the next
# ones 4 ms each. They are trained but not timed.
WARMUP_STEPS = 2
# Then the rate is measured over this many steps, or these many seconds, or this share of
# the limit, whichever comes first (at least one step). Twenty length-bucketed or
# token-budget batches mix short and long ones enough for a rate within tens of percent;
# five seconds bounds what measuring a slow model costs against limits of minutes; the share
# keeps a short limit from being spent on measuring it.
MEASURED_STEPS = 20
MEASURED_SECONDS = 5.0
LIMIT_SHARE = 0.1


@dataclass(frozen=True)
class ReportLimit:
    """The time, from the run's start, by which its first report must have come, and what
    that limit is, in words for a reason (``the trial time limit of 8m``)."""

    seconds: float
    what: str


@dataclass(frozen=True)
class FirstReportEstimate:
    """When a run's first report is expected, from its start, at the training rate measured.

    Example:
        >>> estimate = FirstReportEstimate(860.4, 212.3, ReportLimit(480.0, "a limit of 8m"))
        >>> estimate.too_slow
        True
        >>> estimate.reason()
        'too slow: first report expected after 14m20s (at 212 examples/s), past a limit of 8m'
    """

    seconds: float
    examples_per_second: float
    limit: ReportLimit

    @property
    def too_slow(self) -> bool:
        return self.seconds > self.limit.seconds

    def reason(self) -> str:
        rate = self.examples_per_second
        shown = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2g}"
        return (
            f"too slow: first report expected after {format_duration(self.seconds)} "
            f"(at {shown} examples/s), past {self.limit.what}"
        )


class TooSlowError(RuntimeError):
    """A run stopped before its first report, which it could not reach within its limit.

    ``estimate`` says when the report was expected; the totals say what the run had trained.
    """

    def __init__(
        self,
        estimate: FirstReportEstimate,
        examples_seen: int,
        tokens_seen: int,
        train_seconds: float,
    ):
        super().__init__(estimate.reason())
        self.estimate = estimate
        self.examples_seen, self.tokens_seen = examples_seen, tokens_seen
        self.train_seconds, self.val_seconds = train_seconds, 0.0


class FirstReportProbe:
    """Times the first optimizer steps of a run and estimates its first report.

    ``report_examples`` is the training examples seen at the first report, and
    ``validation_examples`` the dev examples it validates. Validating a dev example is taken
    to cost what training on one costs: a classifier's forward pass costs about a quarter
    of that and a translator's greedy decoding about 1.3x (``benchmarks/report_cost.py``),
    and the first report's validation is small beside its training either way (the dev
    subset of a report within an epoch), so the rate the steps measure serves both.

    Example:
        >>> probe = FirstReportProbe(ReportLimit(60.0, "a minute"), started=0.0,
        ...                          report_examples=10_000, validation_examples=500)
        >>> steps = [(10, 1), (20, 2), (30, 3), (40, 4), (50, 5), (60, 6)]
        >>> [probe.after_step(examples, now) for examples, now in steps]
        [None, None, None, None, None, None]
        >>> estimate = probe.after_step(70, 7)  # 5 s after the warm-up steps: 50 examples
        >>> estimate.examples_per_second, estimate.seconds, estimate.too_slow
        (10.0, 1050.0, True)
    """

    def __init__(
        self, limit: ReportLimit, started: float, report_examples: int, validation_examples: int
    ):
        self.limit = limit
        self.started = started
        self.report_examples = report_examples
        self.validation_examples = validation_examples
        self.steps = 0
        self._measure_from: tuple[float, int] | None = None  # (time, examples) after warm-up

    @classmethod
    def for_run(
        cls, limit: ReportLimit, started: float, task: TrainingTask[Any], schedule: ReportSchedule
    ) -> FirstReportProbe:
        """The probe of a run that reports on ``schedule``: its first report comes at the
        first multiple, on the dev subset, or at the first epoch's end, on all of dev."""
        examples = schedule.first_report()
        within_epoch = examples < task.epoch_examples()
        return cls(limit, started, examples, task.validation_examples(subset=within_epoch))

    def after_step(self, examples: int, now: float) -> FirstReportEstimate | None:
        """Count one optimizer step that brought the run to ``examples`` at ``now`` (on the
        clock of ``started``); the estimate once the rate is measured, else None."""
        self.steps += 1
        if self.steps <= WARMUP_STEPS:
            self._measure_from = (now, examples)
            return None
        assert self._measure_from is not None
        since, examples_before = self._measure_from
        seconds = now - since
        window = min(MEASURED_SECONDS, LIMIT_SHARE * self.limit.seconds)
        if self.steps - WARMUP_STEPS < MEASURED_STEPS and seconds < window:
            return None
        rate = (examples - examples_before) / max(seconds, 1e-9)
        to_train = max(0, self.report_examples - examples)
        expected = now - self.started + (to_train + self.validation_examples) / rate
        return FirstReportEstimate(expected, rate, self.limit)
