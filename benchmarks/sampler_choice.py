"""Which sampler and pruner buy the best model for the same work: hpo's choices side by side.

    python benchmarks/sampler_choice.py [--trials 30] [--seeds 0 1 2] [--arms ARM ...]
        [--jobs 2] [--threads 1] [--out runs/sampler_choice]

The ``program`` task of ``time_to_quality.py`` (which program a gettext message comes
from: tens of thousands of real messages, see ``quality_tasks.py``), the shipped classifier
space with its start point, hpo's defaults for everything but the arm's sampler and pruner.
Each arm runs ``hpo optimize --n-trials N`` in a process of its own:

- ``tpe+sha``: multivariate TPE, SuccessiveHalving (hpo's default before this benchmark);
- ``rung-tpe+sha``: TPE fitted at the highest rung that enough trials reached, on their
  values there (BOHB's idea, ``sampler: {type: rung_tpe}``), SuccessiveHalving;
- ``tpe+hyperband``: multivariate TPE, Hyperband (Optuna fits TPE per bracket).

The budget is a number of trials, not seconds, so that a run does not depend on how busy
the machine is: with one worker, one torch thread and a seed, a run is the same run on any
machine. What the trials cost is read from their recorded cost (training examples, and train
plus validation seconds). For each run it prints the best dev value after 25%, 50% and 100%
of the trials, the best reached within the training examples that the cheapest arm of the
same seed spent, the trials' states, and the examples and seconds spent; the table is saved
as ``table.md`` in ``--out``, with one JSON file per run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_tasks import ROOT, write_program_study

ARMS: dict[str, dict] = {
    "tpe+sha": {"sampler": {"type": "tpe"}, "pruner": {"type": "successive_halving"}},
    "rung-tpe+sha": {"sampler": {"type": "rung_tpe"}, "pruner": {"type": "successive_halving"}},
    "tpe+hyperband": {"sampler": {"type": "tpe"}, "pruner": {"type": "hyperband"}},
}
SHARES = (0.25, 0.5, 1.0)


def run_arm(arm: str, seed: int, args: argparse.Namespace) -> dict:
    """``hpo optimize`` of one arm and seed in a temporary folder; its record.

    The store is kept in ``--out`` (``seed<N>-<arm>.db``), so that a run stopped early can
    still be summarized (``--summarize --first N``)."""
    store = args.out / f"seed{seed}-{arm}.db"
    store.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"sampler-{arm}-{seed}-") as tmp:
        work = Path(tmp)
        study_file, corpus = write_program_study(work, seed, args.threads, "cpu")
        study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
        study.update(ARMS[arm])
        study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
        record = {"arm": arm, "seed": seed, "corpus": corpus, "threads": args.threads}
        _save(args.out, record)  # trials come from the store until the run ends
        command = [sys.executable, "-m", "hpo", "optimize", "--study", str(study_file)]
        command += ["--n-trials", str(args.trials), "--storage", f"sqlite:///{store}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        log = args.out / f"seed{seed}-{arm}.log"
        began = time.perf_counter()
        with log.open("w", encoding="utf-8") as out:
            done = subprocess.run(command, cwd=work, env=env, stdout=out, stderr=out)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            sys.exit(f"{arm}, seed {seed}: hpo optimize exited {done.returncode}; see {log}")
    record.update(stored_trials(store), wall_s=round(wall, 1))
    _save(args.out, record)
    return record


def _save(folder: Path, record: dict) -> None:
    path = folder / f"seed{record['seed']}-{record['arm']}.json"
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")


def stored_trials(store: Path) -> dict:
    """The states and trial rows of the one study in the SQLite file ``store``."""
    storage = f"sqlite:///{store}"
    (name,) = optuna.get_all_study_names(storage)
    trials = optuna.load_study(study_name=name, storage=storage).get_trials()
    return {
        "states": dict(Counter(t.state.name.lower() for t in trials)),
        "trials": [_trial_row(t) for t in sorted(trials, key=lambda t: t.number)],
    }


def _trial_row(trial: optuna.trial.FrozenTrial) -> dict:
    """What the summary needs of one trial: state, value, examples and seconds it cost."""
    attrs = trial.user_attrs
    finished = trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    value = trial.value if finished and trial.value is not None else None
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "value": value if value is None or math.isfinite(value) else None,
        "arch": trial.params.get("arch"),
        "optimizer": trial.params.get("optimizer"),
        "examples": int(attrs.get("examples_seen") or 0),
        "seconds": float(attrs.get("train_seconds") or 0) + float(attrs.get("val_seconds") or 0),
    }


def best_within(rows: list[dict], limit: float, key: str) -> float | None:
    """The best value of the trials that finished before the running total of ``key``
    passed ``limit`` (accuracy: higher is better).

    Example:
        >>> rows = [{"value": 0.5, "examples": 100}, {"value": None, "examples": 50},
        ...         {"value": 0.7, "examples": 100}, {"value": 0.9, "examples": 10}]
        >>> best_within(rows, 200, "examples"), best_within(rows, 250, "examples")
        (0.5, 0.7)
        >>> best_within(rows, 99, "examples") is None
        True
    """
    spent, best = 0.0, None
    for row in rows:
        spent += row[key]
        if spent > limit:
            break
        if row["value"] is not None and (best is None or row["value"] > best):
            best = row["value"]
    return best


def summary(records: dict[tuple[str, int], dict], arms: list[str], seeds: list[int]) -> str:
    lines = [
        "| seed | arm | best @25% trials | @50% | @100% | @ cheapest arm's examples "
        "| @ cheapest arm's seconds | examples (M) | train+val s | trials |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    means: dict[str, list[float]] = {arm: [] for arm in arms}
    for seed in seeds:
        runs = {arm: records[(arm, seed)] for arm in arms}
        cheapest = min(sum(r["examples"] for r in run["trials"]) for run in runs.values())
        quickest = min(sum(r["seconds"] for r in run["trials"]) for run in runs.values())
        for arm, run in runs.items():
            rows = run["trials"]
            n = len(rows)
            at = [best_within(rows, math.ceil(share * n), "count") for share in SHARES]
            by_examples = best_within(rows, cheapest, "examples")
            by_seconds = best_within(rows, quickest, "seconds")
            examples = sum(r["examples"] for r in rows)
            seconds = sum(r["seconds"] for r in rows)
            states = ", ".join(f"{k} {v}" for k, v in sorted(run["states"].items()))
            cells = " | ".join(_fmt(v) for v in [*at, by_examples, by_seconds])
            lines.append(
                f"| {seed} | {arm} | {cells} | {examples / 1e6:.2f} | {seconds:.0f} | {states} |"
            )
            if at[-1] is not None:
                means[arm].append(at[-1])
    lines.append("")
    for arm, values in means.items():
        if values:
            lines.append(
                f"- {arm}: mean best dev accuracy {sum(values) / len(values):.4f} "
                f"over {len(values)} seeds"
            )
    return "\n".join(lines)


def summarize_saved(folders: list[Path], first: int | None) -> None:
    """The table of runs saved earlier, arms and seeds as found; with ``first``, of each
    run's first trials only (with one worker and a seed, a run's first N trials are those
    of a run of N trials). A run stopped early is read from its store."""
    records = {}
    for folder in folders:
        for path in sorted(folder.glob("seed*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            if "trials" not in record:
                record.update(stored_trials(path.with_suffix(".db")))
            if first is not None:
                record["trials"] = [r for r in record["trials"] if r["number"] < first]
                done = [r for r in record["trials"] if r["state"] in ("complete", "pruned")]
                if len(done) < first:
                    sys.exit(f"{path.name}: {len(done)} of its first {first} trials finished")
                record["states"] = dict(Counter(r["state"] for r in record["trials"]))
            for row in record["trials"]:
                row["count"] = 1
            records[(record["arm"], record["seed"])] = record
    arms = [arm for arm in ARMS if any(a == arm for a, _ in records)]
    seeds = sorted({seed for _, seed in records})
    complete = [s for s in seeds if all((arm, s) in records for arm in arms)]
    print(f"corpus: {next(iter(records.values()))['corpus']}")
    print(summary(records, arms, complete))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every run")
    parser.add_argument("--out", type=Path, default=Path("runs/sampler_choice"))
    parser.add_argument(
        "--summarize",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="run nothing: the table of the runs saved in these --out folders",
    )
    parser.add_argument(
        "--first", type=int, help="with --summarize: each run's first N trials only"
    )
    args = parser.parse_args()
    if args.summarize:
        summarize_saved(args.summarize, args.first)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from common import machine

    print(f"machine: {machine()}")
    print(f"{args.trials} trials per run, seeds {args.seeds}, {args.threads} thread(s) per run")
    jobs = [(arm, seed) for seed in args.seeds for arm in args.arms]
    records: dict[tuple[str, int], dict] = {}

    def one(job: tuple[str, int]) -> None:
        record = run_arm(*job, args)
        for row in record["trials"]:
            row["count"] = 1  # so that best_within counts trials too
        records[job] = record
        print(f"seed {job[1]} {job[0]}: {record['states']} ({record['wall_s']:.0f} s)", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, jobs))
    corpus = next(iter(records.values()))["corpus"]
    text = summary(records, args.arms, args.seeds)
    command = "python benchmarks/sampler_choice.py " + " ".join(sys.argv[1:])
    header = [f"machine: {machine()}", f"command: {command}", f"corpus: {corpus}"]
    (args.out / "table.md").write_text("\n".join([*header, "", text, ""]), encoding="utf-8")
    print(f"corpus: {corpus}")
    print(text)


if __name__ == "__main__":
    main()
