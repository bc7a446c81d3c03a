"""Turn a trial's parameters into a model: the family that ``arch`` selects builds it.

The families register themselves where they are written (``cnn_classifier.py``,
``rnn_classifier.py``, ``seq2seq.py``); the parameters they read and their defaults are
declared there too.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from hpo.errors import BadInput
from hpo.models.init import INIT, initialise
from hpo.models.registry import DEFAULT_ARCH, family_for
from hpo.params import read_params


def build(task: str, params: dict[str, Any], **sizes: int) -> nn.Module:
    """Build the model of ``task`` from a trial's parameters.

    ``sizes`` are ``vocab_size`` and ``num_classes`` for classification, ``src_vocab_size``
    and ``tgt_vocab_size`` for translation. Parameters a trial does not set take the
    defaults that the family declares.

    Example:
        >>> model = build("translation", {"hidden_size": 16}, src_vocab_size=40, tgt_vocab_size=50)
        >>> type(model).__name__, model.decoder.output.out_features
        ('Seq2Seq', 50)
        >>> build("classification", {"arch": "gru"}, vocab_size=40, num_classes=3).rnn
        GRU(128, 128, batch_first=True, bidirectional=True)
    """
    if task not in DEFAULT_ARCH:
        raise BadInput(f"unknown task {task!r}")
    arch = params.get("arch", DEFAULT_ARCH[task])
    family = family_for(task, arch)
    model = family.build(family.values(arch, params), **sizes)
    initialise(model, read_params([INIT], params)["init"])
    return model


def build_classifier(params: dict[str, Any], vocab_size: int, num_classes: int) -> nn.Module:
    """Build the classifier that ``params`` describe (see search_spaces/classifier.yaml)."""
    return build("classification", params, vocab_size=vocab_size, num_classes=num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
