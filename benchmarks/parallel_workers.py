"""Trials per hour with 1 and 2 worker processes on this machine, SQLite and PostgreSQL.

    python benchmarks/parallel_workers.py --trials 16 [--postgres URL] [--device cpu]

Every trial trains the same GRU classifier for the same number of epochs (only the learning
rate is searched, no pruning), so a trial is a fixed amount of work; with 2 workers each
gets half of the CPU threads.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

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
            rates = {}
            for workers in (1, 2):
                study_file = write_program_study(
                    directory,
                    f"par-{store}-{workers}",
                    pruner={"type": "none"},
                    training={"max_epochs": args.epochs, "device": args.device},
                    search_space=FIXED_WORK_SPACE,
                )
                seconds = run(
                    optimize_command(
                        study_file, args.trials, url_for(workers), "--workers", str(workers)
                    ),
                    cwd=directory,
                )
                rates[workers] = args.trials / seconds * 3600
                print(
                    f"{store:10s} {workers} worker(s): {seconds:7.1f} s, "
                    f"{rates[workers]:7.0f} trials/hour"
                )
            print(f"{store:10s} speed-up with 2 workers: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
