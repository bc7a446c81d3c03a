"""Every model, optimizer and schedule trains; checkpoints reload; seeds reproduce trials."""

from __future__ import annotations

import json

import optuna
import torch
from optuna.trial import TrialState

from hpo.checkpoints import load_checkpoint
from hpo.cli import main
from hpo.config import load_study_config
from hpo.data import load_classification_corpus
from hpo.data.batching import EncodedDataset
from hpo.tasks.classification.use import load_classifier as load_model
from hpo.training import FitSettings, evaluate
from hpo.training.metrics import accuracy, macro_f1
from hpo.training.precision import precision_name
from tests.conftest import run_hpo, write_study

BASE = {"embedding_dim": 16, "filter_sizes": "2,3", "num_filters": 8, "lr": 0.01, "batch_size": 32}


def stored(name: str = "tiny") -> optuna.Study:
    return optuna.load_study(study_name=name, storage="sqlite:///runs/hpo.db")


def grid_study(workdir, params: dict, **fields):
    return write_study(
        workdir, search_space={"params": {**BASE, **params}}, pruner={"type": "none"}, **fields
    )


def test_every_architecture_and_initialisation_trains(workdir):
    study_file = grid_study(
        workdir,
        {
            "arch": {"type": "categorical", "choices": ["cnn", "lstm", "gru"]},
            "init": {"type": "categorical", "choices": ["default", "xavier"]},
            "hidden_size": {"type": "fixed", "value": 16, "when": {"arch": ["lstm", "gru"]}},
            "num_layers": {"type": "fixed", "value": 2, "when": {"arch": ["lstm", "gru"]}},
            "bidirectional": {"type": "fixed", "value": True, "when": {"arch": "lstm"}},
        },
    )
    assert main(["grid-search", "--study", str(study_file)]) == 0
    trials = stored().get_trials()
    assert len(trials) == 6
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert all(t.user_attrs["n_params"] > 0 for t in trials)


def test_every_optimizer_and_schedule_trains(workdir):
    study_file = grid_study(
        workdir,
        {
            "arch": "cnn",
            "optimizer": {"type": "categorical", "choices": ["adam", "adamw", "sgd"]},
            "lr_schedule": {"type": "categorical", "choices": ["none", "plateau", "cosine"]},
            "clip_grad": 1.0,
            "weight_decay": 0.0001,
        },
        training={"max_epochs": 3},
    )
    assert main(["grid-search", "--study", str(study_file)]) == 0
    trials = stored().get_trials()
    assert len(trials) == 9
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_a_kept_checkpoint_reloads_and_scores_its_recorded_value(workdir):
    study_file = write_study(
        workdir, keep_checkpoints=2, training={"max_epochs": 3}, pruner={"type": "none"}
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "3"]) == 0
    best = stored().best_trial

    model, tokenizer, meta = load_model(workdir / "runs/tiny" / f"trial-{best.number}")
    assert meta["epoch"] == best.user_attrs["best_epoch"]
    corpus = load_classification_corpus(load_study_config(str(study_file)).data)
    assert meta["label_names"] == corpus.label_names
    dev = EncodedDataset(tokenizer.encode(corpus.dev.texts), corpus.label_ids(corpus.dev))
    settings = FitSettings(max_epochs=1, num_classes=corpus.num_classes)
    _, metrics = evaluate(model, dev, settings, torch.device("cpu"))
    assert metrics["accuracy"] == best.value
    assert len(list((workdir / "runs/tiny").glob("trial-*"))) == 2


def test_the_same_seed_gives_the_same_trials(workdir):
    values = []
    for run in ("first", "second"):
        directory = workdir / run
        directory.mkdir()
        study_file = write_study(directory)
        code = main(
            [
                "optimize",
                "--study",
                str(study_file),
                "--n-trials",
                "2",
                "--seed",
                "11",
                "--storage",
                f"sqlite:///{directory}/store.db",
            ]
        )
        assert code == 0
        study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{directory}/store.db")
        values.append([(t.params, t.intermediate_values) for t in study.get_trials()])
    assert values[0] == values[1]


def test_tokenizers_are_trained_once_per_vocabulary_size(workdir):
    study_file = write_study(
        workdir,
        search_space={
            "params": {
                **BASE,
                "arch": "cnn",
                "vocab_size": {"type": "categorical", "choices": [80, 120]},
            }
        },
        training={"max_epochs": 1},
        pruner={"type": "none"},
    )
    assert main(["grid-search", "--study", str(study_file)]) == 0
    models = sorted((workdir / "runs/.cache").glob("spm-*.model"))
    assert len(models) == 2
    stamps = [m.stat().st_mtime_ns for m in models]
    assert main(["optimize", "--study", str(study_file), "--n-trials", "2"]) == 0
    assert [
        m.stat().st_mtime_ns for m in sorted((workdir / "runs/.cache").glob("spm-*.model"))
    ] == stamps


def test_metrics_on_known_predictions():
    predictions = torch.tensor([0, 0, 1, 1, 2, 2])
    labels = torch.tensor([0, 1, 1, 1, 2, 0])
    assert accuracy(predictions, labels) == 4 / 6
    # F1 per class: 0: p=1/2 r=1/2 -> 0.5; 1: p=1 r=2/3 -> 0.8; 2: p=1/2 r=1 -> 2/3
    expected = (0.5 + 0.8 + 2 / 3) / 3
    assert abs(macro_f1(predictions, labels, 3) - expected) < 1e-6


def test_hpo_train_reproduces_the_best_trial_from_its_json(workdir, capsys):
    study_file = write_study(workdir, training={"max_epochs": 3}, pruner={"type": "none"})
    assert main(["optimize", "--study", str(study_file), "--n-trials", "2"]) == 0
    capsys.readouterr()
    assert main(["best", "--study", str(study_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    command = info["reproduce"]["command"].split()
    assert command[:2] == ["hpo", "train"]

    assert main(command[1:]) == 0
    out = capsys.readouterr().out
    assert f"trained trial {info['number']}" in out
    directory = workdir / "runs/tiny" / f"train-{info['number']}"
    _, _, meta = load_model(directory)
    assert meta["value"] == info["value"]
    assert meta["epoch"] == info["best_epoch"]


def test_hpo_train_uses_the_thread_count_the_trial_ran_with(workdir):
    # A worker of `--workers 2` on this machine trains on 1 thread; `hpo train` in a plain
    # shell would use every core, and torch sums in another order then.
    # Convolutions are where torch's CPU results depend on the thread count.
    space = {
        "params": {
            "arch": "cnn",
            "embedding_dim": 64,
            "filter_sizes": "2,3,4",
            "num_filters": 64,
            "lr": 0.01,
            "batch_size": 64,
        }
    }
    write_study(workdir, search_space=space, pruner={"type": "none"}, training={"max_epochs": 2})
    one_thread = {"HPO_THREADS": "1", "OMP_NUM_THREADS": "1"}
    optimized = run_hpo(
        "optimize", "--study", "tiny.yaml", "--n-trials", "1", cwd=workdir, env=one_thread
    )
    assert optimized.returncode == 0, optimized.stderr
    computes_in = precision_name(torch.device("cpu"), amp=True)
    assert f"training on cpu (1 threads, {computes_in})" in optimized.stdout
    best = json.loads(run_hpo("best", "--study", "tiny.yaml", "--json", cwd=workdir).stdout)
    # With what the trial computed in: float32, or bfloat16 on a CPU with its instructions.
    assert best["device"] == f"cpu (1 threads, {computes_in})"

    trained = run_hpo("train", "--study", "tiny.yaml", "--trial", "0", cwd=workdir)
    assert trained.returncode == 0, trained.stderr
    # The same weights to the last bit, not only the same accuracy.
    retrained = load_checkpoint(workdir / "runs/tiny/train-0")
    original = load_checkpoint(workdir / "runs/tiny/trial-0")
    assert retrained["value"] == best["value"]
    assert original["state_dict"].keys() == retrained["state_dict"].keys()
    for name, tensor in original["state_dict"].items():
        assert torch.equal(tensor, retrained["state_dict"][name]), name
