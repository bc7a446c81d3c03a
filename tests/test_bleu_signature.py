"""One study computes BLEU one way: the sacrebleu tokenizer is checked when the study file is
loaded, the study keeps its BLEU signature, and a worker that would score differently is
refused before it changes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from hpo.cli import main
from tests.conftest import PROJECT_ROOT, hpo_env, run_hpo


def write_translation_study(directory: Path, tgt_lang: str = "de", **translation) -> Path:
    data = directory / "data"
    data.mkdir(exist_ok=True)
    for split, n in (("train", 40), ("dev", 8)):
        (data / f"{split}.en").write_text("".join(f"open file {i}\n" for i in range(n)))
        (data / f"{split}.{tgt_lang}").write_text("".join(f"Datei {i} öffnen\n" for i in range(n)))
    study = {
        "name": "signed",
        "task": "translation",
        "data": {
            "source": "parallel",
            "train": "data/train",
            "dev": "data/dev",
            "src_lang": "en",
            "tgt_lang": tgt_lang,
        },
        "tokenizer": {"vocab_size": 60},
        "translation": translation,
        "search_space": {
            "params": {"cell": "gru", "hidden_size": 16, "embedding_dim": 8, "lr": 0.01}
        },
        "training": {"max_epochs": 1, "threads": 1},
        "sampler": {"type": "random"},
        "pruner": {"type": "none"},
    }
    path = directory / "signed.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


@pytest.fixture
def mecab_without_dictionary(tmp_path) -> dict:
    """The environment of a machine where MeCab imports but has no dictionary (mecab-python3
    installed without ipadic): its Tagger cannot start."""
    package = tmp_path / "site-packages" / "MeCab"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "class Tagger:\n"
        "    def __init__(self, *args):\n"
        '        raise RuntimeError("no dictionary: install ipadic or unidic")\n'
    )
    paths = [str(package.parent), str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(filter(None, paths))}


def test_japanese_bleu_goes_per_character_where_mecab_has_no_dictionary(
    tmp_path, mecab_without_dictionary
):
    code = "from hpo.data.languages import bleu_tokenize; print(bleu_tokenize('ja'))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=hpo_env(mecab_without_dictionary),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "char"


def test_a_named_tokenizer_that_does_not_work_here_is_refused_at_load(
    workdir, mecab_without_dictionary
):
    study_file = write_translation_study(workdir, tgt_lang="ja", bleu_tokenize="ja-mecab")
    result = run_hpo(
        "optimize", "--study", str(study_file), cwd=workdir, env=mecab_without_dictionary
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "translation.bleu_tokenize: sacrebleu tokenizer ja-mecab does not work here" in lines[0]
    assert not (workdir / "runs").exists()


def test_an_unknown_tokenizer_is_refused_at_load(workdir, capsys):
    study_file = write_translation_study(workdir, bleu_tokenize="13b")
    assert main(["optimize", "--study", str(study_file)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "translation.bleu_tokenize: unknown sacrebleu tokenizer '13b'; known: 13a" in lines[0]
    assert not (workdir / "runs").exists()


def test_a_worker_that_would_score_bleu_differently_is_refused(workdir):
    first = write_translation_study(workdir)
    result = run_hpo("optimize", "--study", str(first), "--n-trials", "1", cwd=workdir)
    assert result.returncode == 0, result.stderr
    storage = f"sqlite:///{workdir}/runs/hpo.db"
    study = optuna.load_study(study_name="signed", storage=storage)
    stored = study.user_attrs["sacrebleu_signature"]
    assert "|tok:13a|" in stored
    assert study.trials[0].user_attrs["sacrebleu_signature"] == stored

    # A second machine's copy of the study file names another tokenizer.
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    second = write_translation_study(elsewhere, bleu_tokenize="intl")
    result = run_hpo(
        "optimize", "--study", str(second), "--n-trials", "1", "--storage", storage, cwd=elsewhere
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert stored in lines[0] and "|tok:intl|" in lines[0]
    again = optuna.load_study(study_name="signed", storage=storage)
    assert len(again.trials) == 1 and again.user_attrs == study.user_attrs
