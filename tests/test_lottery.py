"""Lottery tickets: prune a study's best classifier round by round, reset it, retrain it."""

from __future__ import annotations

import csv
import re

import optuna
import pytest
import torch
from optuna.trial import TrialState

from hpo.cli import main
from hpo.config import BuiltinData, TokenizerConfig
from hpo.data import load_classification_corpus
from hpo.data.prepare import PreparedClassificationData
from hpo.lottery import LotteryExperiment, LotterySettings, WeightMasks
from hpo.models import build
from hpo.tasks import get_task
from hpo.training import FitSettings, fit
from hpo.training.device import select_device
from tests.conftest import write_study

PARAMS = {
    "arch": "cnn",
    "embedding_dim": 16,
    "filter_sizes": "2,3",
    "num_filters": 8,
    "hidden_size": 8,
    "optimizer": "adamw",
    "lr": 0.01,
    "weight_decay": 0.01,
    "batch_size": 32,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    corpus = load_classification_corpus(BuiltinData(source="builtin", size=300))
    prepared = PreparedClassificationData(
        corpus, TokenizerConfig(vocab_size=100), tmp_path_factory.mktemp("cache")
    )
    return prepared.encoded(), corpus.num_classes


def make_experiment(data, arch: str = "cnn", **settings) -> LotteryExperiment:
    splits, num_classes = data
    params = {**PARAMS, "arch": arch}
    fit_settings = FitSettings.from_params(params, max_epochs=1, num_classes=num_classes)
    return LotteryExperiment(
        get_task("classification"),
        splits,
        params,
        fit_settings,
        LotterySettings(**settings),
        select_device("auto"),
        seed=5,
    )


def prunable(experiment: LotteryExperiment) -> dict[str, torch.Tensor]:
    return {name: w.detach() for name, w in experiment.masks.weights(experiment.model).items()}


@pytest.mark.parametrize("arch", ["cnn", "lstm"])
def test_every_round_zeroes_the_share_of_weights_the_schedule_says(data, arch):
    experiment = make_experiment(data, arch, rounds=4, percent=20)
    n_tensors = len(experiment.masks)
    for result in experiment.rounds():
        weights = prunable(experiment)
        total = sum(w.numel() for w in weights.values())
        zeros = sum(int((w == 0).sum()) for w in weights.values())
        expected = total * (1 - 0.8**result.round)
        assert abs(zeros - expected) <= n_tensors
        assert result.remaining == pytest.approx(0.8**result.round, abs=n_tensors / total)
        # Pruned weights are exactly zero after training and got no gradient.
        for name, weight in experiment.masks.weights(experiment.model).items():
            pruned = ~experiment.masks.keep[name]
            assert torch.all(weight.detach()[pruned] == 0)
            assert torch.all(weight.grad[pruned] == 0)


def test_training_with_enforced_masks_keeps_pruned_weights_and_their_gradients_at_zero(data):
    splits, num_classes = data
    vocab_size = splits.tokenizer.vocab_size
    model = build("classification", PARAMS, vocab_size=vocab_size, num_classes=num_classes)
    masks = WeightMasks.dense(model).pruned(model, keep_fraction=0.5, scope="global")
    masks.apply(model)
    settings = FitSettings.from_params(PARAMS, max_epochs=2, num_classes=num_classes)
    with masks.enforced(model) as remask:
        fit(model, splits.train, splits.dev, PARAMS, settings, after_step=[remask])

    for name, weight in masks.weights(model).items():
        pruned = ~masks.keep[name]
        assert pruned.any()
        assert torch.all(weight.detach()[pruned] == 0)
        assert torch.all(weight.grad[pruned] == 0)
        assert torch.any(weight.detach()[~pruned] != 0)
    assert masks.overall_remaining() == pytest.approx(0.5, abs=1e-3)


def test_original_reset_restores_the_initial_values_of_the_survivors(data):
    experiment = make_experiment(data, reset="original", rounds=3)
    initial = {name: w.clone() for name, w in prunable(experiment).items()}
    experiment.train(0)
    experiment.prune(1)
    experiment.reset(1)

    for name, weight in prunable(experiment).items():
        keep = experiment.masks.keep[name]
        assert torch.equal(weight[keep], initial[name][keep])
        assert torch.all(weight[~keep] == 0)
    # Biases and embeddings are not pruned but go back to their start as well.
    assert torch.equal(experiment.model.output.bias, experiment.initial["output.bias"])


def test_rewind_reset_restores_the_values_after_the_first_training_run(data):
    experiment = make_experiment(data, reset="rewind", rounds=3)
    initial = {name: w.clone() for name, w in prunable(experiment).items()}
    experiment.train(0)
    after_first_run = {name: w.clone() for name, w in prunable(experiment).items()}

    def assert_survivors_rewound():
        for name, weight in prunable(experiment).items():
            keep = experiment.masks.keep[name]
            assert torch.equal(weight[keep], after_first_run[name][keep])
            assert not torch.equal(weight[keep], initial[name][keep])

    experiment.prune(1)
    experiment.reset(1)
    assert_survivors_rewound()
    # Later rounds still go back to the first run, not to the round before.
    experiment.train(1)
    experiment.prune(2)
    experiment.reset(2)
    assert_survivors_rewound()


def test_random_reset_draws_new_values_every_round(data):
    experiment = make_experiment(data, reset="random", rounds=3)
    initial = {name: w.clone() for name, w in prunable(experiment).items()}
    experiment.train(0)
    experiment.prune(1)
    experiment.reset(1)
    first = {name: w.clone() for name, w in prunable(experiment).items()}
    experiment.train(1)
    experiment.prune(2)
    experiment.reset(2)

    for name, weight in prunable(experiment).items():
        keep = experiment.masks.keep[name]
        assert not torch.equal(first[name][keep], initial[name][keep])
        assert not torch.equal(weight[keep], first[name][keep])
        assert torch.all(weight[~keep] == 0)


def test_layer_scope_prunes_every_tensor_by_the_same_share_global_scope_does_not(data):
    shares = {}
    for scope in ("layer", "global"):
        experiment = make_experiment(data, scope=scope, rounds=3, percent=50)
        *_, last = experiment.rounds()
        shares[scope] = last.remaining_by_layer
        assert last.remaining == pytest.approx(0.25, abs=0.01)
    for name, share in shares["layer"].items():
        n = experiment.masks.keep[name].numel()
        assert share == pytest.approx(0.25, abs=1 / n)
    assert max(shares["global"].values()) - min(shares["global"].values()) > 0.05


def read_rows(path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_lottery_run_writes_the_csv_the_store_study_and_the_chart(workdir):
    study_file = write_study(workdir, data={"source": "builtin", "size": 300})
    assert main(["optimize", "--study", str(study_file), "--n-trials", "2"]) == 0
    store = "sqlite:///runs/hpo.db"
    best = optuna.load_study(study_name="tiny", storage=store).best_trial

    assert main(["lottery", "--study", str(study_file), "--rounds", "3"]) == 0

    rows = read_rows(workdir / "runs/tiny/lottery-original.csv")
    assert [row["round"] for row in rows] == ["0", "1", "2"]
    assert [round(float(row["remaining"]), 2) for row in rows] == [1.0, 0.8, 0.64]
    assert all(row["test_accuracy"] and row["val_loss"] for row in rows)
    assert float(rows[2]["remaining:output.weight"]) < 1.0
    # Round 0 retrains the best trial with its seed (GPU kernels may differ by a prediction).
    assert float(rows[0]["value"]) == pytest.approx(best.value, abs=0.03)

    lottery = optuna.load_study(study_name="tiny-lottery-original", storage=store)
    trials = lottery.get_trials()
    assert len(trials) == 3
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert [t.params["round"] for t in trials] == [0, 1, 2]
    assert trials[1].params["remaining"] == pytest.approx(0.8, abs=0.01)
    assert trials[2].value == float(rows[2]["value"])
    assert lottery.user_attrs["source_trial"] == best.number

    chart = (workdir / "runs/tiny/lottery.html").read_text()
    assert "plotly" in chart.lower()
    assert not re.search(r"<script[^>]+src=[\"']?https?:", chart)
    assert chart.count('"mode":"lines+markers"') == 1

    assert main(["lottery", "--study", str(study_file), "--rounds", "2", "--reset", "rewind"]) == 0
    chart = (workdir / "runs/tiny/lottery.html").read_text()
    assert chart.count('"mode":"lines+markers"') == 2
    assert '"name":"original"' in chart and '"name":"rewind"' in chart
    assert len(read_rows(workdir / "runs/tiny/lottery-rewind.csv")) == 2


def test_bad_lottery_arguments_are_refused_before_anything_is_written(workdir, capsys):
    study_file = write_study(workdir, data={"source": "builtin", "size": 300})
    store = "sqlite:///runs/hpo.db"
    (workdir / "runs").mkdir()
    optuna.create_study(study_name="tiny", storage=store, direction="maximize")
    lottery = ["lottery", "--study", str(study_file)]

    assert main(lottery) == 2
    assert "no complete trial" in capsys.readouterr().err

    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    capsys.readouterr()
    for arguments, message in [
        (["--trial", "7"], "no trial 7"),
        (["--percent", "100"], "--percent"),
        (["--percent", "0"], "--percent"),
        (["--rounds", "0"], "--rounds"),
        (["--reset", "lucky"], "--reset"),
        (["--scope", "neuron"], "--scope"),
        (["--skip", "weight"], "no weight matrix"),
    ]:
        assert main(lottery + arguments) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1

    assert not list((workdir / "runs/tiny").glob("lottery*"))
    names = [s.study_name for s in optuna.get_all_study_summaries(store)]
    assert names == ["tiny"]
