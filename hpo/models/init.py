"""Weight initialisation schemes selectable as a hyperparameter."""

from __future__ import annotations

from torch import nn

from hpo.params import choice

INIT_SCHEMES = ("default", "xavier")

# Every model family is initialised by this scheme after it is built.
INIT = choice("init", "default", INIT_SCHEMES, "weight initialisation: PyTorch's, or Xavier")


def initialise(model: nn.Module, scheme: str = "default") -> None:
    """Re-initialise ``model`` in place.

    ``default`` keeps PyTorch's own initialisation. ``xavier`` uses Xavier-uniform weights
    for embeddings, convolutions and linear layers, orthogonal recurrent weights and zero
    biases, as in the lottery-ticket experiments.
    """
    if scheme == "default":
        return
    if scheme != "xavier":
        raise ValueError(f"unknown init scheme {scheme!r}; expected one of {INIT_SCHEMES}")
    for name, param in model.named_parameters():
        if "bias" in name:
            nn.init.zeros_(param)
        elif "weight_hh" in name:
            nn.init.orthogonal_(param)
        elif param.dim() >= 2:
            nn.init.xavier_uniform_(param)
    for module in model.modules():
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
