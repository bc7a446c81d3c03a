"""Recurrent (LSTM or GRU, optionally bidirectional) text classifier."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from hpo.data.tokenizer import PAD_ID
from hpo.models.registry import Family, register
from hpo.params import flag, fraction, integer

# The cell is chosen by ``arch: lstm`` or ``arch: gru``.
RNN_CLASSIFIER_PARAMS = (
    integer("embedding_dim", 128, "size of the token embeddings", low=1),
    integer("hidden_size", 128, "size of each direction's hidden state", low=1),
    integer("num_layers", 1, "stacked recurrent layers", low=1),
    flag("bidirectional", True, "read the text both ways and join the final states"),
    fraction("dropout", 0.3, "dropout on embeddings, between layers and before the output"),
)


class RNNClassifier(nn.Module):
    """Embeddings -> stacked LSTM/GRU over the real tokens -> final states -> linear.

    Args:
        vocab_size: Number of token ids.
        num_classes: Number of labels.
        cell: ``"lstm"`` or ``"gru"``.
        embedding_dim: Size of the token embeddings.
        hidden_size: Size of each direction's hidden state.
        num_layers: Stacked recurrent layers.
        bidirectional: Read the text both ways and join the final states.
        dropout: Dropout on embeddings, between layers and before the output.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        cell: str = "lstm",
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.3,
    ):
        super().__init__()
        rnn_class = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.rnn = rnn_class(
            embedding_dim,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size * self.directions, num_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(tokens))
        # Packing makes the final state that of each text's last real token, not of padding.
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, state = self.rnn(packed)
        hidden = state[0] if isinstance(state, tuple) else state  # [layers * dirs, B, H]
        last_layer = hidden[-self.directions :]  # [dirs, B, H]
        features = torch.cat(list(last_layer), dim=1)
        return self.output(self.dropout(features))


def build_rnn_classifier(
    values: dict[str, Any], vocab_size: int, num_classes: int
) -> RNNClassifier:
    return RNNClassifier(
        vocab_size,
        num_classes,
        cell=values["arch"],
        embedding_dim=values["embedding_dim"],
        hidden_size=values["hidden_size"],
        num_layers=values["num_layers"],
        bidirectional=values["bidirectional"],
        dropout=values["dropout"],
    )


RNN_CLASSIFIER = register(
    Family("rnn", "classification", ("lstm", "gru"), RNN_CLASSIFIER_PARAMS, build_rnn_classifier)
)
