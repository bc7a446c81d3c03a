"""Turn a trial's parameters into a model."""

from __future__ import annotations

from typing import Any

from torch import nn

from hpo.errors import BadInput
from hpo.models.cnn_classifier import CNNClassifier
from hpo.models.init import initialise
from hpo.models.rnn_classifier import RNNClassifier
from hpo.models.seq2seq import Seq2Seq

CLASSIFIER_ARCHS = ("cnn", "lstm", "gru")


def parse_sizes(value: Any) -> tuple[int, ...]:
    """``"3,4,5"``, ``[3, 4, 5]`` or ``3`` -> ``(3, 4, 5)``."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return tuple(int(v) for v in str(value).replace(" ", "").split(",") if v)


def build_classifier(params: dict[str, Any], vocab_size: int, num_classes: int) -> nn.Module:
    """Build the classifier that ``params`` describe (see search_spaces/classifier.yaml)."""
    arch = params.get("arch", "cnn")
    embedding_dim = int(params.get("embedding_dim", 128))
    dropout = float(params.get("dropout", 0.3))
    if arch == "cnn":
        model: nn.Module = CNNClassifier(
            vocab_size,
            num_classes,
            embedding_dim=embedding_dim,
            filter_sizes=parse_sizes(params.get("filter_sizes", "3,4,5")),
            num_filters=int(params.get("num_filters", 100)),
            dropout=dropout,
        )
    elif arch in ("lstm", "gru"):
        model = RNNClassifier(
            vocab_size,
            num_classes,
            cell=arch,
            embedding_dim=embedding_dim,
            hidden_size=int(params.get("hidden_size", 128)),
            num_layers=int(params.get("num_layers", 1)),
            bidirectional=bool(params.get("bidirectional", True)),
            dropout=dropout,
        )
    else:
        raise BadInput(f"unknown classifier arch {arch!r}; expected one of {CLASSIFIER_ARCHS}")
    initialise(model, params.get("init", "default"))
    return model


def build_seq2seq(params: dict[str, Any], src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    """Build the translation model that ``params`` describe (see search_spaces/seq2seq.yaml).

    Example:
        >>> model = build_seq2seq({"cell": "gru", "hidden_size": 32}, 100, 120)
        >>> model.decoder.output.out_features
        120
    """
    model = Seq2Seq(
        src_vocab_size,
        tgt_vocab_size,
        cell=params.get("cell", "lstm"),
        embedding_dim=int(params.get("embedding_dim", 128)),
        hidden_size=int(params.get("hidden_size", 256)),
        num_layers=int(params.get("num_layers", 1)),
        bidirectional=bool(params.get("bidirectional", False)),
        residual=bool(params.get("residual", False)),
        attention=params.get("attention", "additive"),
        dropout=float(params.get("dropout", 0.2)),
        tie_embeddings=bool(params.get("tie_embeddings", False)),
    )
    initialise(model, params.get("init", "default"))
    return model


def build(task: str, params: dict[str, Any], **sizes: int) -> nn.Module:
    """Build the model of ``task`` from a trial's parameters.

    Example:
        >>> build("translation", {"hidden_size": 16}, src_vocab_size=40, tgt_vocab_size=50)
        Seq2Seq(...)
    """
    if task == "classification":
        return build_classifier(params, sizes["vocab_size"], sizes["num_classes"])
    if task == "translation":
        return build_seq2seq(params, sizes["src_vocab_size"], sizes["tgt_vocab_size"])
    raise BadInput(f"unknown task {task!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
