"""Shared pieces of the benchmarks: real-text data sets and study files, timing, machine."""

from __future__ import annotations

import csv
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml

from hpo.data.gettext_catalogs import domain_messages, message_pairs

# Programs whose English messages are told apart: a real-text topic task of some difficulty.
PROGRAMS = ("postgres-15", "git", "gnupg2", "mit-krb5", "libc", "coreutils", "glib20")


def program_messages(per_program: int = 600, seed: int = 0) -> list[tuple[str, str]]:
    """(English message, program) pairs from the German catalogs' message ids."""
    rng = random.Random(seed)
    rows = []
    for program in PROGRAMS:
        messages = domain_messages(program)
        rng.shuffle(messages)
        rows += [(m, program) for m in messages[:per_program]]
    rng.shuffle(rows)
    return rows


# A word-for-word English -> German lexicon: the fallback corpus where no catalogs are installed.
_NOUNS = dict(
    zip(
        "dog cat house tree car book child woman man city river bird table door window "
        "garden street friend teacher doctor".split(),
        "Hund Katze Haus Baum Auto Buch Kind Frau Mann Stadt Fluss Vogel Tisch Tür Fenster "
        "Garten Straße Freund Lehrer Arzt".split(),
        strict=True,
    )
)
_ADJECTIVES = dict(
    zip(
        "big small old new red green good bad quick quiet".split(),
        "große kleine alte neue rote grüne gute schlechte schnelle stille".split(),
        strict=True,
    )
)
_VERBS = dict(
    zip(
        "sees finds likes has paints builds opens follows".split(),
        "sieht findet mag hat malt baut öffnet folgt".split(),
        strict=True,
    )
)


def synthetic_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct made-up (English, German) sentences translated word for word.

    Learnable in a few epochs, so a study on them reaches a high BLEU; they stand in for real
    text only where the gettext catalogs are missing, and results say so.
    """
    rng = random.Random(seed)

    def phrase() -> tuple[list[str], list[str]]:
        noun = rng.choice(sorted(_NOUNS))
        words = ["the", *([rng.choice(sorted(_ADJECTIVES))] if rng.random() < 0.6 else []), noun]
        german = [_ADJECTIVES.get(w) or _NOUNS.get(w) or "die" for w in words]
        return words, german

    pairs: set[tuple[str, str]] = set()
    while len(pairs) < n:
        (subject, subject_de), (obj, obj_de) = phrase(), phrase()
        verb = rng.choice(sorted(_VERBS))
        pairs.add(
            (" ".join([*subject, verb, *obj]), " ".join([*subject_de, _VERBS[verb], *obj_de]))
        )
    return sorted(pairs)


def translation_pairs(n: int, min_catalog_pairs: int = 2000) -> tuple[list[tuple[str, str]], str]:
    """``n`` English -> German pairs and where they come from: gettext, else synthetic."""
    real = message_pairs("de")
    if len(real) >= min_catalog_pairs:
        chosen = random.Random(0).sample(real, min(n, len(real)))
        return chosen, f"gettext en->de ({len(chosen)} of {len(real)} pairs)"
    note = f"only {len(real)} gettext en->de pairs on this machine"
    return synthetic_pairs(n), f"synthetic en->de ({n} pairs; {note})"


def write_program_study(directory: Path, name: str, **fields) -> Path:
    """TSV splits of the program-messages task and a study file that uses them."""
    rows = program_messages()
    n = len(rows)
    splits = {
        "train": rows[: int(0.7 * n)],
        "dev": rows[int(0.7 * n) : int(0.85 * n)],
        "test": rows[int(0.85 * n) :],
    }
    for split, part in splits.items():
        with (directory / f"{split}.tsv").open("w", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            writer.writerow(["text", "label"])
            writer.writerows((t.replace("\t", " "), y) for t, y in part)
    study = {
        "name": name,
        "task": "classification",
        "data": {"source": "files", "train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"},
        "tokenizer": {"vocab_size": 2000},
        "metric": "accuracy",
        "search_space": "classifier-small",
        "training": {"max_epochs": 8},
        "sampler": {"type": "tpe", "n_startup_trials": 5},
        "pruner": {"type": "successive_halving", "min_resource": 1, "reduction_factor": 3},
        "keep_checkpoints": 0,
        "seed": 0,
    }
    study.update(fields)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def optimize_command(study_file: Path, trials: int, storage: str, *extra: str) -> list[str]:
    """``hpo optimize`` of ``trials`` trials of ``study_file`` on ``storage``."""
    return [
        sys.executable,
        "-m",
        "hpo",
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        str(trials),
        "--storage",
        storage,
        *extra,
    ]


def run(command: list[str], cwd: Path, env: dict | None = None) -> float:
    """Wall seconds of a command that must succeed."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    full_env.update(env or {})
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return seconds


def machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}"
    )
