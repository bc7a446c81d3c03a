"""Libraries stay off the terminal: a study's stderr holds neither sacrebleu's warnings nor
Optuna's; both are in runs/<study>/warnings.log, each once, and the summary says where."""

from __future__ import annotations

import random

import optuna
import yaml

from tests.conftest import run_hpo, write_study


def write_period_study(directory):
    """A translation study whose every target is "ja ." : hypotheses end in a spaced period,
    which sacrebleu takes for tokenized text on every validation of 100 lines or more."""
    (directory / "data").mkdir()
    words = "red blue green big small dog cat house tree car".split()
    pick = random.Random(0)
    for split, size in [("train", 200), ("dev", 110)]:
        sources = [" ".join(pick.choice(words) for _ in range(3)) for _ in range(size)]
        (directory / f"data/{split}.en").write_text("\n".join(sources) + "\n")
        (directory / f"data/{split}.de").write_text("ja .\n" * size)
    study = {
        "name": "periods",
        "task": "translation",
        "data": {
            "source": "parallel",
            "train": "data/train",
            "dev": "data/dev",
            "src_lang": "en",
            "tgt_lang": "de",
        },
        "tokenizer": {"vocab_size": 30},
        "search_space": {
            "params": {
                "cell": "gru",
                "attention": "none",
                "embedding_dim": 8,
                "hidden_size": 16,
                "dropout": 0.0,
                "lr": 0.03,
                "batch_tokens": 400,
            }
        },
        "training": {"max_epochs": 2, "threads": 1},
        "sampler": {"type": "random"},
        "pruner": {"type": "none"},
    }
    (directory / "periods.yaml").write_text(yaml.safe_dump(study, sort_keys=False))


def test_sacrebleu_warnings_go_to_the_study_log_once(workdir):
    write_period_study(workdir)

    result = run_hpo("optimize", "--study", "periods.yaml", "--n-trials", "2", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    log = (workdir / "runs/periods/warnings.log").read_text()
    assert log.count("forgot to detokenize") == 1
    assert result.stdout.splitlines()[-1].endswith("library warnings in runs/periods/warnings.log")


def test_optuna_warning_of_a_failed_trial_goes_to_the_study_log(workdir):
    params = {"arch": "cnn", "embedding_dim": 8, "filter_sizes": "2", "num_filters": 4}
    write_study(
        workdir,
        data={"source": "builtin", "size": 200},
        search_space={"params": {**params, "optimizer": "sgd", "lr": 1e30, "batch_size": 32}},
    )

    result = run_hpo("optimize", "--study", "tiny.yaml", "--n-trials", "1", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "FAIL" in result.stdout and "diverged" in result.stdout
    log = (workdir / "runs/tiny/warnings.log").read_text()
    assert "Trial 0 failed" in log and "DivergedError" in log
    trial = optuna.load_study(study_name="tiny", storage=f"sqlite:///{workdir}/runs/hpo.db").trials[
        0
    ]
    assert trial.user_attrs["fail_reason"].startswith("diverged")
