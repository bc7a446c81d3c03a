"""When a run reports: every ``report_every`` training examples, and at every epoch's end.

A report within an epoch comes at the first optimizer step at or after each multiple of
the interval, counted in training examples since the run began, so that trials of different
batch sizes report at about the same data seen; a multiple that falls in an epoch's last
step is left to that epoch's own report. ``auto`` is the smaller of one epoch and
:data:`AUTO_REPORT_EXAMPLES`: a trial on a corpus of tens of thousands of examples
reports within its first minutes on a CPU, and a small demo corpus reports once an epoch.
Where the run trained its first ``AUTO_REPORT_EXAMPLES`` in less than
:data:`AUTO_REPORT_SECONDS`, ``auto`` widens to what it trains in that time (at most an
epoch): a Kim CNN that trains 5000 texts in under a second on a CPU spent a tenth of its
time on reports within epochs that no rung in epochs reads. Under ``auto`` a multiple less
than half an interval from an epoch's end (before it, or after the last one's) is left to
the epoch's report too: a translator whose ``auto`` had widened to about 10,200 of its
epoch's 16,252 pairs validated the dev subset 1,300 pairs (3 s of training) before, or
1,200 after, validating all of dev.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hpo.amounts import DataAmount, parse_report_every

AUTO_REPORT_EXAMPLES = 5000
AUTO_REPORT_SECONDS = 30.0


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
        self.epoch_examples = epoch_examples
        self.auto = amount is None
        # ``auto`` until its first multiple is reached: then the run's rate may widen it.
        self.unsettled = self.auto and self.interval < epoch_examples

    def due(self, before: int, after: int, trained_seconds: float | None = None) -> bool:
        """Whether a step that took the examples seen from ``before`` to ``after`` crossed
        a multiple of the interval. Under ``auto`` the first crossing, with the seconds of
        training since the run began, settles the interval: widened to the examples
        trained in :data:`AUTO_REPORT_SECONDS` at the rate so far, at most an epoch.

        Example:
            >>> schedule = ReportSchedule("auto", epoch_examples=22_000)
            >>> schedule.due(4900, 5020, trained_seconds=1.0), schedule.interval  # fast
            (False, Fraction(22000, 1))
            >>> schedule = ReportSchedule("auto", epoch_examples=22_000)
            >>> schedule.due(4900, 5020, trained_seconds=20.0), schedule.interval
            (False, Fraction(7530, 1))
            >>> schedule.due(7000, 7600), schedule.due(7600, 10000)
            (True, False)
            >>> schedule = ReportSchedule("auto", epoch_examples=22_000)
            >>> schedule.due(4900, 5020, trained_seconds=60.0), schedule.interval  # slow
            (True, Fraction(5000, 1))
        """
        crossed = after // self.interval > before // self.interval
        if crossed and self.unsettled and trained_seconds is not None and trained_seconds > 0:
            self.unsettled = False
            in_time = Fraction(math.ceil(after / trained_seconds * AUTO_REPORT_SECONDS))
            if in_time > self.interval:
                self.interval = min(in_time, Fraction(self.epoch_examples))
                return after // self.interval > before // self.interval
        return crossed

    def within_epoch(self, examples: int) -> bool:
        """Whether a report due after ``examples`` training examples of the epoch comes now:
        not at the epoch's end, which has its own report, and under ``auto`` not within half
        an interval of an epoch's end or of the last one's (two validations of nearly the
        same weights).

        Example:
            >>> schedule = ReportSchedule("auto", epoch_examples=16_000)
            >>> [schedule.within_epoch(n) for n in (1_200, 5_000, 13_400, 14_000, 16_000)]
            [False, True, True, False, False]
            >>> ReportSchedule("0.3 epoch", epoch_examples=1_000).within_epoch(900)  # as given
            True
        """
        left = self.epoch_examples - examples
        if not self.auto:
            return left > 0
        return min(examples, left) >= self.interval / 2

    def first_report(self) -> int:
        """The training examples seen at a run's first report, as the interval stands (an
        epoch where the first multiple is left to the epoch's report).

        Example:
            >>> ReportSchedule("auto", 16_000).first_report()
            5000
            >>> ReportSchedule("auto", 6_000).first_report()  # 5000 is 1000 before the end
            6000
            >>> ReportSchedule("0.9 epoch", 6_000).first_report()
            5400
        """
        first = math.ceil(self.interval)
        return first if self.within_epoch(first) else self.epoch_examples


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
