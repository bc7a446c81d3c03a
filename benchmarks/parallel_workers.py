"""Trials per hour with 1 and 2 worker processes on this machine, SQLite and PostgreSQL.

    python benchmarks/parallel_workers.py --trials 16 [--postgres URL] [--device cpu]

Every trial trains the same GRU classifier for the same number of epochs (only the learning
rate is searched, no pruning), so a trial is a fixed amount of work; with 2 workers each
gets half of the CPU threads. Two rates are printed: over the whole command (start-up of
the processes included), and over the trials alone, from the first trial's start to the
last trial's end as the store recorded them (what a long study converges to).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import optuna
import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, optimize_command, run, write_program_study

FIXED_WORK_SPACE = {
    "params": {
        "arch": "gru",
        "embedding_dim": 64,
        "hidden_size": 64,
        "bidirectional": True,
        "batch_size": 32,
        "vocab_size": 2000,
        "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
    }
}
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_database(admin_url: str) -> str | None:
    """A new database on the server at ``admin_url``, or None when it does not answer."""
    name = f"hpo_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL at {admin_url.split('@')[-1]} unavailable: {type(exc).__name__}")
        return None
    return sqlalchemy.engine.make_url(admin_url).set(database=name).render_as_string(False)


def trials_span(study_name: str, storage: str) -> float:
    """Seconds from the first trial's start to the last trial's end, as stored."""
    trials = optuna.load_study(study_name=study_name, storage=storage).get_trials()
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return (end - start).total_seconds()


def measure(
    directory: Path, name: str, url: str, trials: int, workers: int, args, env=None
) -> tuple[float, float]:
    """Wall seconds of ``hpo optimize --workers N`` and seconds of its trials alone."""
    study_file = write_program_study(
        directory,
        name,
        pruner={"type": "none"},
        training={"max_epochs": args.epochs, "device": args.device},
        search_space=FIXED_WORK_SPACE,
    )
    seconds = run(
        optimize_command(study_file, trials, url, "--workers", str(workers)),
        cwd=directory,
        env=env,
    )
    return seconds, trials_span(name, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        stores = {"sqlite": lambda w: f"sqlite:///{directory}/w{w}.db"}
        if postgres_database(args.postgres):
            stores["postgresql"] = lambda w: postgres_database(args.postgres)
        for store, url_for in stores.items():
            rates, steady = {}, {}
            for workers in (1, 2):
                seconds, span = measure(
                    directory,
                    f"par-{store}-{workers}",
                    url_for(workers),
                    args.trials,
                    workers,
                    args,
                )
                rates[workers] = args.trials / seconds * 3600
                steady[workers] = args.trials / span * 3600
                print(
                    f"{store:10s} {workers} worker(s): {seconds:7.1f} s, "
                    f"{rates[workers]:7.0f} trials/hour; trials alone {span:7.1f} s, "
                    f"{steady[workers]:7.0f} trials/hour"
                )
            print(
                f"{store:10s} speed-up with 2 workers: {rates[2] / rates[1]:.2f}x "
                f"(trials alone: {steady[2] / steady[1]:.2f}x)"
            )
        # What the second thread gives one worker bounds what a second process can add.
        one_thread = {"HPO_THREADS": "1", "OMP_NUM_THREADS": "1"}
        _, span = measure(
            directory,
            "par-1thread",
            f"sqlite:///{directory}/t1.db",
            args.trials,
            1,
            args,
            one_thread,
        )
        print(
            f"sqlite     1 worker on 1 thread: trials alone {span:7.1f} s, "
            f"{args.trials / span * 3600:7.0f} trials/hour"
        )


if __name__ == "__main__":
    main()
