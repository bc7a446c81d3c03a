"""The arithmetic of ``time_to_quality.py``: best values by time, the targets, the table.

A run's timeline is a list of events, (seconds since the run's first trial started, a dev
value); nothing here knows where they came from.
"""

from __future__ import annotations

from collections.abc import Sequence

SHARES = (0.10, 0.25, 0.50, 1.00)
ARMS = ("hpo", "plain", "start")
TARGET_SHARE = 1 / 3  # hpo should reach plain Optuna's final best within this share of the budget

Event = tuple[float, float]


def better(a: float | None, b: float | None, maximize: bool) -> bool:
    """Whether ``a`` is at least as good as ``b``; no value is worse than any value.

    >>> better(0.8, 0.7, maximize=True), better(0.8, 0.7, maximize=False)
    (True, False)
    >>> better(0.5, None, maximize=True), better(None, 0.5, maximize=True)
    (True, False)
    """
    if b is None:
        return a is not None
    if a is None:
        return False
    return a >= b if maximize else a <= b


def best_by(events: Sequence[Event], seconds: float, maximize: bool) -> float | None:
    """The best value among the events at or before ``seconds``; None before the first.

    >>> events = [(5.0, 0.50), (20.0, 0.70), (30.0, 0.60)]
    >>> best_by(events, 25, maximize=True), best_by(events, 4, maximize=True)
    (0.7, None)
    >>> best_by(events, 60, maximize=False)
    0.5
    """
    values = [value for at, value in events if at <= seconds]
    if not values:
        return None
    return max(values) if maximize else min(values)


def checkpoints(events: Sequence[Event], budget: float, maximize: bool) -> dict[str, float | None]:
    """The best value by 10%, 25%, 50% and 100% of the budget.

    >>> checkpoints([(5.0, 0.5), (40.0, 0.7), (90.0, 0.8)], 100, maximize=True)
    {'10%': 0.5, '25%': 0.5, '50%': 0.7, '100%': 0.8}
    """
    return {f"{share:.0%}": best_by(events, share * budget, maximize) for share in SHARES}


def time_to_reach(events: Sequence[Event], target: float, maximize: bool) -> float | None:
    """Seconds until a value at least as good as ``target``; None if none was.

    >>> time_to_reach([(5.0, 0.5), (40.0, 0.7), (90.0, 0.8)], 0.7, maximize=True)
    40.0
    >>> time_to_reach([(5.0, 0.5)], 0.7, maximize=True) is None
    True
    """
    return next((at for at, value in sorted(events) if better(value, target, maximize)), None)


def verdict(runs: dict) -> dict:
    """The targets for one task and seed, from its three runs; None where neither of the
    two compared has a value by the end of the budget.

    >>> run = lambda events: {"events": events, "maximize": True, "budget_s": 100,
    ...                       "checkpoints": checkpoints(events, 100, True)}
    >>> verdict({"hpo": run([(20.0, 0.6), (80.0, 0.9)]), "plain": run([(90.0, 0.7)]),
    ...          "start": run([])})
    {'hpo >= plain': True, 'hpo >= start': True, 'share to reach plain': 0.8}
    """
    maximize, budget = runs["hpo"]["maximize"], runs["hpo"]["budget_s"]
    final = {arm: runs[arm]["checkpoints"]["100%"] for arm in ARMS}

    def at_least(other: str) -> bool | None:
        if final["hpo"] is None and final[other] is None:
            return None
        return better(final["hpo"], final[other], maximize)

    reached = None
    if final["plain"] is not None:
        reached = time_to_reach(runs["hpo"]["events"], final["plain"], maximize)
    return {
        "hpo >= plain": at_least("plain"),
        "hpo >= start": at_least("start"),
        "share to reach plain": None if reached is None else round(reached / budget, 3),
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _yes(flag: bool | None) -> str:
    return "no value in either" if flag is None else ("yes" if flag else "no")


def row_values(record: dict) -> str:
    return " ".join(f"{share} {_fmt(v)}" for share, v in record["checkpoints"].items())


def table(results: dict) -> str:
    """Markdown: best dev value by share of the budget per task, seed and arm; the targets
    where all three arms have a record."""
    lines = [
        "| task | seed | arm | 10% | 25% | 50% | 100% | trials |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    notes = []
    for (task, seed), runs in results.items():
        for arm in (arm for arm in ARMS if arm in runs):
            r = runs[arm]
            values = " | ".join(_fmt(v) for v in r["checkpoints"].values())
            trials = ", ".join(f"{n} {state}" for state, n in sorted(r["trials"].items()))
            lines.append(f"| {task} | {seed} | {arm} | {values} | {trials or '-'} |")
        if not set(ARMS) <= runs.keys():  # an arm neither run now nor recorded before
            continue
        v = verdict(runs)
        share = v["share to reach plain"]
        if runs["plain"]["checkpoints"]["100%"] is None:
            reach = "plain Optuna finished no trial"
        elif share is None:
            reach = "not reached"
        else:
            reach = f"{share:.0%} of the budget"
        notes.append(
            f"- {task}, seed {seed}: hpo >= plain at 100%: {_yes(v['hpo >= plain'])}; "
            f"hpo >= start at 100%: {_yes(v['hpo >= start'])}; time for hpo to reach plain's "
            f"final best: {reach} (target <= {TARGET_SHARE:.0%})"
        )
    return "\n".join([*lines, "", *notes])
