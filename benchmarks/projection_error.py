"""How far the final stretch's projections are from what a learning curve then reached.

A study's last stretch trains on the kept trial whose learning curve points highest after
S more seconds (:func:`hpo.study.equal_time.after_stretch`). This reads the start-point
records of ``time_to_quality.py`` (``--arms start``: one configuration trained for the
whole budget, each epoch's dev value and its training and validation seconds) and, at each
epoch k of a record, projects from its first k epochs as a study does for a trial stopped
there, then compares with the best value the same run had reached S seconds later. Printed
per record and stretch: the gain projected and the gain reached, summed over the epochs
read, and their ratio (reached / projected: 1 is a projection on the mark, below 1 one
that promises too much).

    python benchmarks/projection_error.py RECORD.json [RECORD.json ...]
        [--stretch 150 450 1100] [--from-epoch 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
from hpo.study.equal_time import after_stretch

Point = tuple[float, float]  # (seconds of training and validation by an epoch's end, value)


def curve(record: dict) -> list[Point]:
    """The epochs of a start-point record: seconds trained by each epoch's end, dev value."""
    points, total = [], 0.0
    for (_, value), spent in zip(record["events"], record["seconds"], strict=False):
        total += spent["train_s"] + spent["val_s"]
        points.append((total, value))
    return points


def stopped_at(points: list[Point], k: int) -> optuna.trial.FrozenTrial:
    """The run's first ``k`` epochs as the complete trial a study would have stored."""
    values = [value for _, value in points[:k]]
    return optuna.trial.create_trial(
        value=values[-1],
        intermediate_values={epoch: value for epoch, value in enumerate(values, start=1)},
        user_attrs={"epoch_examples": 1, "train_seconds": points[k - 1][0], "val_seconds": 0},
    )


def errors(points: list[Point], stretch: float, first: int, maximize: bool) -> list[Point]:
    """(projected gain, reached gain) at each epoch from ``first`` on whose stretch the
    record covers; gains are improvements (positive), from the best of the first k epochs."""
    sign = 1.0 if maximize else -1.0
    pick = max if maximize else min
    found = []
    for k in range(first, len(points) + 1):
        until = points[k - 1][0] + stretch
        if until > points[-1][0]:
            break
        base = pick(value for _, value in points[:k])
        projected = after_stretch(stopped_at(points, k), stretch, maximize)
        reached = pick(value for seconds, value in points if seconds <= until)
        if projected is not None:
            found.append((sign * (projected - base), sign * (reached - base)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--stretch", nargs="+", type=float, default=[150.0, 450.0, 1100.0])
    parser.add_argument("--from-epoch", type=int, default=5)
    args = parser.parse_args()
    print("| record | epochs | seconds | stretch s | epochs read | projected | reached | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path in args.records:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not record.get("seconds"):
            sys.exit(f"{path}: not a start-point record (no seconds per epoch)")
        points = curve(record)
        for stretch in args.stretch:
            found = errors(points, stretch, args.from_epoch, record.get("maximize", True))
            projected = sum(p for p, _ in found)
            reached = sum(r for _, r in found)
            ratio = f"{reached / projected:.2f}" if projected > 0 else "-"
            print(
                f"| {path.name} | {len(points)} | {points[-1][0]:.0f} | {stretch:.0f} | "
                f"{len(found)} | {projected:.4f} | {reached:.4f} | {ratio} |"
            )


if __name__ == "__main__":
    main()
