"""Models, trainers and tokenizers declare the parameters they read; a search space is checked
against those declarations before a study starts, and the defaults are the declared ones."""

from __future__ import annotations

import inspect
from pathlib import Path

import optuna
import pytest
import yaml
from torch import nn

from hpo.cli import main
from hpo.config import load_search_space
from hpo.errors import BadInput
from hpo.models import Family, build, register, registry
from hpo.models.cnn_classifier import CNNClassifier
from hpo.models.init import INIT, initialise
from hpo.models.rnn_classifier import RNNClassifier
from hpo.models.seq2seq import Seq2Seq
from hpo.models.transformer import Transformer
from hpo.params import integer
from hpo.space import SearchSpace
from hpo.study.params_check import check_search_space
from hpo.training.builders import OPTIMIZER_PARAMS, build_optimizer
from hpo.training.seq2seq_trainer import SEQ2SEQ_FIT_PARAMS, Seq2SeqSettings
from hpo.training.trainer import FIT_PARAMS, FitSettings
from tests.conftest import PROJECT_ROOT, write_study

SIZES = {
    "classification": {"vocab_size": 50, "num_classes": 3},
    "translation": {"src_vocab_size": 50, "tgt_vocab_size": 60},
}
# Each registered family, built by its own class with the constructor's defaults.
OWN_DEFAULTS = {
    ("classification", "cnn"): lambda: CNNClassifier(50, 3),
    ("classification", "lstm"): lambda: RNNClassifier(50, 3, cell="lstm"),
    ("classification", "gru"): lambda: RNNClassifier(50, 3, cell="gru"),
    ("translation", "rnn"): lambda: Seq2Seq(50, 60),
    ("translation", "transformer"): lambda: Transformer(50, 60),
}
CLASSES = {
    "cnn": CNNClassifier,
    "lstm": RNNClassifier,
    "gru": RNNClassifier,
    "rnn": Seq2Seq,
    "transformer": Transformer,
}


def registered() -> set[tuple[str, str]]:
    return {(task, arch) for task in SIZES for arch in registry.archs(task)}


def described(model: nn.Module) -> str:
    """The layers and sizes of a model, and the choices its layers do not show."""
    decoder = getattr(model, "decoder", None)
    tied = decoder is not None and decoder.output.weight is decoder.embedding.weight
    residual = [m.residual for m in model.modules() if hasattr(m, "residual")]
    return f"{model!r} tied={tied} residual={residual}"


def test_every_registered_family_is_covered_here():
    assert registered() == set(OWN_DEFAULTS), "add the new family's own constructor above"


@pytest.mark.parametrize(("task", "arch"), sorted(OWN_DEFAULTS))
def test_a_family_built_from_no_params_is_its_class_with_its_own_defaults(task, arch):
    built = build(task, {"arch": arch}, **SIZES[task])

    assert described(built) == described(OWN_DEFAULTS[(task, arch)]())


@pytest.mark.parametrize(("task", "arch"), sorted(OWN_DEFAULTS))
def test_constructor_defaults_equal_the_declared_defaults(task, arch):
    family = registry.family_for(task, arch)
    signature = inspect.signature(CLASSES[arch])

    compared = [p for p in family.params if p.name in signature.parameters]
    assert len(compared) == len(family.params)
    for param in compared:
        constructor_default = signature.parameters[param.name].default
        assert constructor_default == param.read(param.default), param.name
    assert inspect.signature(initialise).parameters["scheme"].default == INIT.default


def test_trainer_settings_default_to_the_declared_values():
    assert FitSettings.from_params({}, max_epochs=1) == FitSettings(max_epochs=1)
    assert Seq2SeqSettings.from_params({}, max_epochs=1) == Seq2SeqSettings(max_epochs=1)
    fit = FitSettings(max_epochs=1)
    assert {p.name: getattr(fit, p.name) for p in FIT_PARAMS} == {
        p.name: p.default for p in FIT_PARAMS
    }
    seq2seq = Seq2SeqSettings(max_epochs=1)
    assert {p.name: getattr(seq2seq, p.name) for p in SEQ2SEQ_FIT_PARAMS} == {
        p.name: p.default for p in SEQ2SEQ_FIT_PARAMS
    }

    declared = {p.name: p.default for p in OPTIMIZER_PARAMS}
    sgd = build_optimizer(nn.Linear(2, 2), {"optimizer": "sgd"})
    assert sgd.defaults["momentum"] == declared["momentum"]
    assert sgd.defaults["lr"] == declared["lr"]


def test_a_value_the_family_refuses_is_bad_input_when_building():
    with pytest.raises(BadInput, match=r"dropout value 1\.5 is outside \[0, 1\)"):
        build("classification", {"arch": "gru", "dropout": 1.5}, **SIZES["classification"])


# --- through the CLI: refused before anything is stored --------------------------------------


def write_translation_study(directory: Path, params: dict) -> Path:
    """A translation study on three tiny parallel files; its space is ``params``."""
    for split in ("train", "dev"):
        (directory / f"{split}.en").write_text("good morning\nthank you\n", encoding="utf-8")
        (directory / f"{split}.de").write_text("guten Morgen\ndanke\n", encoding="utf-8")
    study = {
        "name": "translate",
        "task": "translation",
        "data": {
            "source": "parallel",
            "train": "train",
            "dev": "dev",
            "src_lang": "en",
            "tgt_lang": "de",
        },
        "tokenizer": {"vocab_size": 40},
        "search_space": {"params": params},
        "training": {"max_epochs": 1},
    }
    path = directory / "translate.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


GOOD_TRANSLATION = {"cell": "gru", "hidden_size": 16, "embedding_dim": 8, "lr": 0.01}


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (
            {"flux_capacitor": 1.21},
            ["unknown parameter 'flux_capacitor' for translation", "known: ", "tie_embeddings"],
        ),
        ({"bidirectional": "maybe"}, ["bidirectional value 'maybe'", "true or false"]),
        ({"momentum": -5}, ["momentum value -5", "outside [0, 1)"]),
        (
            {"dropout": {"type": "float", "low": 0.0, "high": 1.5}},
            ["dropout value 1.5", "outside [0, 1)"],
        ),
        ({"arch": "mamba"}, ["arch value 'mamba'", "one of rnn, transformer"]),
        ({"attention": "dot"}, ["attention value 'dot'", "none, additive, multiplicative"]),
        ({"vocab_size": 100}, ["unknown parameter 'vocab_size'", "src_vocab_size"]),
        ({"num_layers": {"type": "float", "low": 1, "high": 3}}, ["num_layers", "type: int"]),
    ],
    ids=[
        "unknown-name",
        "wrong-type",
        "momentum-range",
        "dropout-range",
        "no-such-family",
        "no-such-choice",
        "classifier-only",
        "float-for-int",
    ],
)
def test_a_translation_space_is_refused_with_one_line(workdir, capsys, params, names):
    path = write_translation_study(workdir, {**GOOD_TRANSLATION, **params})

    code = main(["optimize", "--study", str(path), "--n-trials", "1"])

    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for name in ["search space inline", "translate.yaml", *names]:
        assert name in err, f"{name!r} not in {err}"
    assert not (workdir / "runs").exists(), "a refused study stored something"


GOOD_TRANSFORMER = {"arch": "transformer", "layers": 1, "d_model": 16, "heads": 2, "lr": 0.01}


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"heads": 0}, ["heads value 0", "outside [1"]),
        ({"positions": "rotary"}, ["positions value 'rotary'", "sinusoidal, learned"]),
        ({"cell": "gru"}, ["unknown parameter 'cell' for translation with arch transformer"]),
        ({"dropout": {"type": "float", "low": 0.1, "high": 1.0}}, ["dropout value 1.0"]),
    ],
    ids=["heads-range", "no-such-positions", "rnn-only", "dropout-range"],
)
def test_a_transformer_space_is_refused_with_one_line(workdir, capsys, params, names):
    path = write_translation_study(workdir, {**GOOD_TRANSFORMER, **params})

    code = main(["optimize", "--study", str(path), "--n-trials", "1"])

    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for name in names:
        assert name in err, f"{name!r} not in {err}"
    assert not (workdir / "runs").exists(), "a refused study stored something"


def test_a_classifier_param_of_the_wrong_arch_is_refused(workdir, capsys):
    space = {
        "arch": {"type": "categorical", "choices": ["cnn", "gru"]},
        "num_filters": {"type": "int", "low": 4, "high": 8, "when": {"arch": "gru"}},
        "lr": 0.01,
    }
    path = write_study(workdir, search_space={"params": space})

    code = main(["optimize", "--study", str(path), "--n-trials", "1"])

    err = capsys.readouterr().err
    assert code == 2
    assert "unknown parameter 'num_filters' for classification with arch gru" in err
    assert not (workdir / "runs").exists()


def test_params_that_hold_for_one_arch_each_are_accepted_and_trained(workdir, capsys):
    space = {
        "arch": {"type": "categorical", "choices": ["cnn", "gru"]},
        "embedding_dim": 8,
        "filter_sizes": {"type": "fixed", "value": "2,3", "when": {"arch": "cnn"}},
        "num_filters": {"type": "fixed", "value": 4, "when": {"arch": "cnn"}},
        "hidden_size": {"type": "fixed", "value": 8, "when": {"arch": "gru"}},
        "bidirectional": {"type": "fixed", "value": False, "when": {"arch": "gru"}},
        "lr": 0.01,
        "batch_size": 32,
    }
    path = write_study(
        workdir,
        search_space={"params": space},
        data={"source": "builtin", "size": 200},
        tokenizer={"vocab_size": 100},
        training={"max_epochs": 1},
    )

    assert main(["grid-search", "--study", str(path)]) == 0

    study = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db")
    # Trained: an epoch was reported (a trial no better than the majority class is pruned).
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    assert all(t.intermediate_values for t in study.trials)
    assert sorted(t.params["arch"] for t in study.trials) == ["cnn", "gru"]


@pytest.mark.parametrize("name", ["classifier", "classifier-small", "seq2seq", "seq2seq-small"])
def test_the_shipped_spaces_pass(name):
    space = load_search_space(name, PROJECT_ROOT / "studies")
    task = "translation" if name.startswith("seq2seq") else "classification"

    check_search_space(space, task)


def test_a_registered_family_becomes_selectable_and_checked(monkeypatch):
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    width = integer("width", 4, "features of the one layer", low=1)

    def build_linear(values, src_vocab_size, tgt_vocab_size):
        return nn.Linear(values["width"], tgt_vocab_size)

    register(Family("linear", "translation", ("linear",), (width,), build_linear))

    space = SearchSpace.model_validate(
        {"params": {"arch": {"type": "categorical", "choices": ["rnn", "linear"]}, "width": 3}}
    )
    check_search_space(space, "translation")
    model = build("translation", {"arch": "linear", "width": 3}, **SIZES["translation"])
    assert model.in_features == 3
    too_narrow = SearchSpace.model_validate({"params": {"arch": "linear", "width": 0}})
    with pytest.raises(BadInput, match=r"width value 0 is outside \[1, inf\)"):
        check_search_space(too_narrow, "translation")
