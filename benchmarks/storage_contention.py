"""Which local store holds up under several writers? Trials per second and errors.

K processes run N trivial trials each against one store, so that storage, not training,
is the bottleneck (the worst case for "database is locked"):

    python benchmarks/storage_contention.py --workers 4 --trials 200

Compared side by side in one run: SQLite as hpo opens it (WAL, 120 s busy timeout),
plain SQLite (rollback journal, SQLAlchemy's default 5 s timeout), and Optuna's
JournalFileStorage.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import tempfile
import time
from pathlib import Path

import optuna

from hpo.study.storage import open_storage


def make_storage(kind: str, directory: Path):
    if kind == "sqlite-wal":
        return open_storage(f"sqlite:///{directory}/wal.db")
    if kind == "sqlite-plain":
        return optuna.storages.RDBStorage(f"sqlite:///{directory}/plain.db")
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(directory / "journal.log")))


def worker(kind: str, directory: str, trials: int, errors) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="bench", storage=make_storage(kind, Path(directory)))

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        for step in range(3):
            trial.report(x * x + step, step)
        return x * x

    for _ in range(trials):
        try:
            study.optimize(objective, n_trials=1)
        except Exception as exc:  # what a user would see as a crashed worker
            errors.append(type(exc).__name__ + ": " + str(exc).splitlines()[0])


def measure(kind: str, workers: int, trials: int) -> tuple[float, int, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        storage = make_storage(kind, Path(tmp))
        optuna.create_study(study_name="bench", storage=storage)
        manager = multiprocessing.Manager()
        errors = manager.list()
        processes = [
            multiprocessing.Process(target=worker, args=(kind, tmp, trials, errors))
            for _ in range(workers)
        ]
        start = time.perf_counter()
        for p in processes:
            p.start()
        for p in processes:
            p.join()
        seconds = time.perf_counter() - start
        done = len(
            optuna.load_study(study_name="bench", storage=make_storage(kind, Path(tmp))).trials
        )
        return done / seconds, done, list(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=200, help="trials per worker")
    args = parser.parse_args()
    print(
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"{multiprocessing.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
    )
    print(f"{args.workers} workers x {args.trials} trivial trials each")
    results = {}
    for kind in ("sqlite-wal", "sqlite-plain", "journal-file"):
        rate, done, errors = measure(kind, args.workers, args.trials)
        results[kind] = rate
        print(
            f"{kind:13s} {rate:8.1f} trials/s  {done:5d} trials  {len(errors)} errors"
            + (f"  (first: {errors[0]})" if errors else "")
        )
    print(f"ratio sqlite-wal / sqlite-plain: {results['sqlite-wal'] / results['sqlite-plain']:.2f}")
    print(f"ratio sqlite-wal / journal-file: {results['sqlite-wal'] / results['journal-file']:.2f}")


if __name__ == "__main__":
    main()
