"""When a run reports: every ``report_every`` training examples, and at every epoch's end.

A report within an epoch comes at the first optimizer step at or after each multiple of
the interval, counted in training examples since the run began, so that trials of different
batch sizes report at about the same data seen; a multiple that falls in an epoch's last
step is left to that epoch's own report. ``auto`` is the smaller of one epoch and
:data:`AUTO_REPORT_EXAMPLES`: a trial on a corpus of tens of thousands of examples
reports within its first minutes on a CPU, and a small demo corpus reports once an epoch.
"""

from __future__ import annotations

from fractions import Fraction

from hpo.amounts import DataAmount, parse_report_every

AUTO_REPORT_EXAMPLES = 5000


class ReportSchedule:
    """The interval between reports, in training examples, for one run.

    Example:
        >>> schedule = ReportSchedule("0.25 epoch", epoch_examples=40)
        >>> schedule.interval, schedule.due(before=8, after=12), schedule.due(12, 16)
        (Fraction(10, 1), True, False)
        >>> ReportSchedule("auto", epoch_examples=12_600).interval
        Fraction(5000, 1)
    """

    def __init__(self, report_every: str | DataAmount | None, epoch_examples: int):
        amount = parse_report_every(report_every) if isinstance(report_every, str) else report_every
        if amount is None:
            interval = Fraction(min(epoch_examples, AUTO_REPORT_EXAMPLES))
        else:
            interval = amount.examples(epoch_examples)
        self.interval = max(interval, Fraction(1))

    def due(self, before: int, after: int) -> bool:
        """Whether a step that took the examples seen from ``before`` to ``after`` crossed
        a multiple of the interval."""
        return after // self.interval > before // self.interval


def dev_subset(size: int, cap: int) -> list[int] | None:
    """Positions of the fixed dev subset of reports within an epoch: ``cap`` of ``size``,
    evenly spread (a dev file sorted by label or length still gives a fair sample); None
    when ``cap`` would take all of dev.

    Example:
        >>> dev_subset(10, cap=4), dev_subset(3, cap=4)
        ([0, 2, 5, 7], None)
    """
    if size <= cap:
        return None
    return [i * size // cap for i in range(cap)]
