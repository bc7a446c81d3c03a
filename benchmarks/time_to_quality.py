"""Time to quality: the best dev value that hpo's defaults reach in a fixed wall-clock budget.

    python benchmarks/time_to_quality.py [--task program|translation|both] [--budget 30m]
        [--seeds 0 1 2] [--out DIR] [--threads N] [--device cpu] [--compare time|auto]

Two real tasks built from the gettext catalogs on the machine (see ``quality_tasks.py``):
which program a message comes from, and English -> German translation. For each task and
seed, three arms run one after another (in the order of ``--arms``), each in its own
temporary folder, on the same number of torch threads and the same budget:

- ``hpo``: ``hpo optimize --study FILE --timeout BUDGET`` with the shipped space (its
  ``start`` point runs first) and hpo's default sampler and pruner (``--compare time``:
  its SuccessiveHalving decides at equal training time, ``pruner: {compare: time}``);
- ``plain``: plain Optuna as a user would write it around the same training code:
  ``TPESampler(seed)``, ``SuccessiveHalvingPruner()``, each epoch's dev value reported with
  ``trial.report`` and pruned on ``trial.should_prune()``, the same space (sampled with
  ``hpo.space.suggest``) with no start point, ``study.optimize(timeout=BUDGET)``;
- ``start``: the space's ``start`` configuration alone, trained for the whole budget.

What counts: for ``hpo`` and ``plain``, the value of a finished trial (complete or pruned)
at the time it finished; for ``start``, each epoch's dev value when its validation ended.
Time runs from the first trial's start (data loading and, where the vocabulary is not
searched, tokenizer training come before it in every arm); nothing that ends after the
budget counts, and the trial still running then is stopped. For each run the best value
reached by 10%, 25%, 50% and 100% of the budget is printed and saved (``--out``: one JSON
file per run, ``hpo``'s log, each run's CSV logs and the table as ``table.md``), then the
targets: hpo's best at 100% at least plain Optuna's and the start point's, and the share of
the budget hpo took to reach plain Optuna's final best (target: a third or less).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import optuna
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_arms import run_hpo, run_plain, run_start
from quality_tasks import TASKS, WRITERS
from quality_timeline import ARMS, checkpoints, row_values, table

from hpo.host_memory import use_huge_pages


def run_task(task: str, seed: int, budget: float, args: argparse.Namespace) -> dict:
    """The three arms of one task and seed; each run's record is saved as JSON."""
    import torch

    torch.set_num_threads(args.threads)
    runs: dict = {}
    for arm in dict.fromkeys([*args.arms, *ARMS]):  # those run, in the order given
        path = args.out / f"{task}-seed{seed}-{arm}.json"
        if arm not in args.arms:  # an earlier run's record, if any, for the table
            if path.exists():
                runs[arm] = json.loads(path.read_text(encoding="utf-8"))
            continue
        with tempfile.TemporaryDirectory(prefix=f"ttq-{task}-{arm}-") as tmp:
            work = Path(tmp)
            study_file, corpus = WRITERS[task](work, seed, args.threads, args.device)
            config_name = f"ttq-{task}"
            log = args.out / f"{task}-seed{seed}-hpo.log"
            began = time.perf_counter()
            if arm == "hpo":
                _compare_at(study_file, args.compare)
                result = run_hpo(study_file, config_name, budget, work, log)
            elif arm == "plain":
                result = run_plain(study_file, budget, work)
            else:
                result = run_start(study_file, budget, work)
            wall = time.perf_counter() - began
            _keep_logs(work, args.out / f"{task}-seed{seed}-{arm}-logs")
        maximize = _maximize(task)
        record = {
            "task": task,
            "corpus": corpus,
            "seed": seed,
            **asdict(result),
            "budget_s": budget,
            "wall_s": round(wall, 1),
            "maximize": maximize,
            "checkpoints": checkpoints(result.events, budget, maximize),
            "threads": args.threads,
            "device": args.device,
        }
        path.write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(
            f"{task} seed {seed} {arm}: {row_values(record)}  trials {result.trials} "
            f"{result.note} ({wall:.0f} s)",
            flush=True,
        )
        runs[arm] = record
    return runs


def _compare_at(study_file: Path, compare: str) -> None:
    """Set the hpo arm's ``pruner.compare`` (``examples``, hpo's default, ``time`` or
    ``auto``)."""
    if compare == "examples":
        return
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study.setdefault("pruner", {})["compare"] = compare
    study_file.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")


def _keep_logs(work: Path, into: Path) -> None:
    """The run's CSV logs (``trials.csv``, ``epochs.csv``: seconds of training and
    validation per report) out of its temporary folder, before it goes."""
    for log in sorted(work.rglob("*.csv")):
        target = into / log.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, target)


def _maximize(task: str) -> bool:
    from hpo.tasks import task_metrics

    metrics = task_metrics("classification" if task == "program" else "translation")
    return next(iter(metrics.values())) == "maximize"  # each task's default metric


def main() -> None:
    from hpo.durations import parse_duration
    from hpo.errors import BadInput

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=[*TASKS, "both"], default="both")
    parser.add_argument("--budget", default="30m", help="per arm, e.g. 90s, 10m, 1h")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("runs/time_to_quality"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads of every arm")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument(
        "--compare",
        choices=["examples", "time", "auto"],
        default="examples",
        help="the hpo arm's pruner.compare: SuccessiveHalving at equal data seen, at equal "
        "time, or at equal time for trials whose max_epochs do not fit in their time limit",
    )
    parser.add_argument(
        "--arms",
        nargs="+",
        choices=ARMS,
        default=list(ARMS),
        help="arms to run, in this order; the others' records are read from an earlier run in "
        "--out, if there",
    )
    args = parser.parse_args()
    # As `hpo` sets it at its start: the arms trained in this process, and the hpo arm's
    # process, which inherits it, all put large tensors on huge pages.
    use_huge_pages()
    try:
        budget = parse_duration(args.budget)
    except BadInput as exc:
        parser.error(str(exc))
    if args.threads is None:
        import torch

        args.threads = torch.get_num_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    from common import machine

    tasks = TASKS if args.task == "both" else (args.task,)
    print(f"machine: {machine()}")
    print(f"budget {budget:g} s per arm, seeds {args.seeds}, {args.threads} threads, {args.device}")
    results = {
        (task, seed): run_task(task, seed, budget, args) for task in tasks for seed in args.seeds
    }
    corpora = sorted({(r["task"], r["corpus"]) for runs in results.values() for r in runs.values()})
    text = table(results)
    command = "python benchmarks/time_to_quality.py " + " ".join(sys.argv[1:])
    header = [f"machine: {machine()}", f"command: {command}"]
    header += [f"{task}: {corpus}" for task, corpus in corpora]
    (args.out / "table.md").write_text("\n".join([*header, "", text, ""]), encoding="utf-8")
    print("\n".join(header[2:]))
    print(text)


if __name__ == "__main__":
    main()
