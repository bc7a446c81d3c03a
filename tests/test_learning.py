"""The training path learns: a classifier tuned by hpo separates English from German
messages of the gettext catalogs installed on this machine, read from a TSV file."""

from __future__ import annotations

import csv
import os
import random

import optuna
import pytest

from hpo.cli import main
from hpo.data.gettext_catalogs import message_pairs
from tests.conftest import write_study

pairs = message_pairs("de")
if len(pairs) < 1000 and not os.environ.get("CI"):
    pytest.skip("needs German gettext catalogs (/usr/share/locale/de)", allow_module_level=True)


def write_language_tsv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writerow(["sentence", "language"])
        writer.writerows(rows)


def test_classifier_learns_the_language_of_real_messages(workdir, capsys):
    assert len(pairs) >= 1000
    rng = random.Random(0)
    chosen = rng.sample(pairs, 1600)
    rows = [(en, "en") if i % 2 else (de, "de") for i, (en, de) in enumerate(chosen)]
    rows = [(text.replace("\t", " "), label) for text, label in rows]
    write_language_tsv(workdir / "train.tsv", rows[:1200])
    write_language_tsv(workdir / "dev.tsv", rows[1200:1400])
    write_language_tsv(workdir / "test.tsv", rows[1400:])
    study_file = write_study(
        workdir,
        name="language",
        data={
            "source": "files",
            "train": "train.tsv",
            "dev": "dev.tsv",
            "test": "test.tsv",
            "text_column": "sentence",
            "label_column": "language",
        },
        tokenizer={"vocab_size": 500},
        metric="f1",
        search_space={
            "params": {
                "arch": {"type": "categorical", "choices": ["cnn", "gru"]},
                "embedding_dim": 32,
                "filter_sizes": {"type": "fixed", "value": "2,3,4", "when": {"arch": "cnn"}},
                "num_filters": {"type": "fixed", "value": 32, "when": {"arch": "cnn"}},
                "hidden_size": {"type": "fixed", "value": 32, "when": {"arch": "gru"}},
                "lr": 0.005,
                "batch_size": 32,
            }
        },
        training={"max_epochs": 6},
        pruner={"type": "none"},
    )
    assert main(["grid-search", "--study", str(study_file)]) == 0
    study = optuna.load_study(study_name="language", storage="sqlite:///runs/hpo.db")
    values = {t.params["arch"]: t.value for t in study.get_trials()}
    assert set(values) == {"cnn", "gru"}
    assert min(values.values()) > 0.9, values
