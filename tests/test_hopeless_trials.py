"""Trials no better than the trivial predictor at two reports in a row after the first rung
are pruned, with the reason, whether reports come at epochs' ends or within epochs; trials
that learn are not."""

from __future__ import annotations

import optuna

from hpo.cli import main
from hpo.training.trivial import classification_floor
from tests.conftest import write_study


def write_skewed_corpus(directory) -> None:
    """Four in five texts are 'common'; the label is written in every text, so it can be learnt."""
    rows = ["text\tlabel"]
    for i in range(1000):
        label = "rare" if i % 5 == 0 else "common"
        rows.append(f"{label} item number {i} of the {label} kind\t{label}")
    (directory / "train.tsv").write_text("\n".join(rows[:801]) + "\n")
    (directory / "dev.tsv").write_text("\n".join([rows[0], *rows[801:]]) + "\n")


def study_with(workdir, name, optimizer, lr, report_every="auto", min_resource=1):
    write_skewed_corpus(workdir)
    return write_study(
        workdir,
        name=name,
        data={"source": "files", "train": "train.tsv", "dev": "dev.tsv"},
        tokenizer={"vocab_size": 60},
        search_space={
            "params": {
                "arch": "cnn",
                "embedding_dim": 16,
                "filter_sizes": "2",
                "num_filters": 8,
                "optimizer": optimizer,
                "lr": lr,
                "batch_size": 32,
            }
        },
        training={"max_epochs": 3, "report_every": report_every},
        pruner={"type": "successive_halving", "min_resource": min_resource},
    )


def test_a_trial_at_majority_class_accuracy_is_pruned_with_its_reason(workdir):
    study = study_with(workdir, "stuck", "sgd", 1.0e-7)  # learns nothing in three epochs
    assert main(["optimize", "--study", str(study), "--n-trials", "1"]) == 0
    trial = optuna.load_study(study_name="stuck", storage="sqlite:///runs/hpo.db").trials[0]
    assert trial.state.name == "PRUNED"
    floor = classification_floor(
        "accuracy", ["common"] * 4 + ["rare"], ["common"] * 160 + ["rare"] * 40
    )
    assert trial.user_attrs["stop_reason"] == (
        f"hopeless: accuracy {trial.intermediate_values[1600]:.4g} at epoch 2 (1600 examples) "
        f"is no better than always predicting 'common' ({floor.value:.4g}) and its loss no "
        f"lower than {floor.loss:.4g}"
    )
    # The second report at the floor: steps count the 800 training texts of each epoch.
    assert list(trial.intermediate_values) == [800, 1600]
    assert trial.user_attrs["pruned_at_examples"] == 1600
    assert trial.user_attrs["examples_seen"] == 1600
    assert trial.user_attrs["train_seconds"] > 0 and trial.user_attrs["val_seconds"] > 0


def test_reports_within_epochs_prune_a_hopeless_trial_from_the_first_rung_on(workdir):
    study = study_with(
        workdir, "stuck", "sgd", 1.0e-7, report_every=0.25, min_resource="500 examples"
    )
    assert main(["optimize", "--study", str(study), "--n-trials", "1"]) == 0
    trial = optuna.load_study(study_name="stuck", storage="sqlite:///runs/hpo.db").trials[0]
    assert trial.state.name == "PRUNED"
    # Batches of 32 texts; a report at the first step at or after 200, 400 and 600 texts.
    # The second is at the floor too, but before the first rung (500 examples); the third
    # is where the floor rule prunes.
    assert list(trial.intermediate_values) == [224, 416, 608]
    assert trial.user_attrs["stop_reason"].startswith(
        f"hopeless: accuracy {trial.intermediate_values[608]:.4g} at epoch 0.76 (608 examples)"
    )


def test_a_trial_that_learns_is_not_pruned_by_the_floor(workdir):
    study = study_with(workdir, "learns", "adam", 0.01)
    assert main(["optimize", "--study", str(study), "--n-trials", "1"]) == 0
    trial = optuna.load_study(study_name="learns", storage="sqlite:///runs/hpo.db").trials[0]
    assert trial.state.name == "COMPLETE" and trial.value > 0.9
