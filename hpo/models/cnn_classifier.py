"""Kim (2014)-style convolutional text classifier."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hpo.data.tokenizer import PAD_ID
from hpo.models.registry import Family, register
from hpo.params import fraction, integer, sizes

CNN_PARAMS = (
    integer("embedding_dim", 128, "size of the token embeddings", low=1),
    sizes("filter_sizes", "3,4,5", "convolution widths, one group of filters per width"),
    integer("num_filters", 100, "filters per width", low=1),
    fraction("dropout", 0.3, "dropout on embeddings and pooled features"),
)


class CNNClassifier(nn.Module):
    """Embeddings -> parallel 1-D convolutions -> max over time -> dropout -> linear.

    Args:
        vocab_size: Number of token ids.
        num_classes: Number of labels (2 for binary tasks).
        embedding_dim: Size of the token embeddings.
        filter_sizes: Widths of the convolutions, one group of filters per width.
        num_filters: Filters per width.
        dropout: Dropout on embeddings and pooled features.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: int = 128,
        filter_sizes: tuple[int, ...] = (3, 4, 5),
        num_filters: int = 100,
        dropout: float = 0.3,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(
            nn.Conv1d(embedding_dim, num_filters, kernel_size=k) for k in filter_sizes
        )
        self.min_length = max(filter_sizes)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(num_filters * len(filter_sizes), num_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if tokens.size(1) < self.min_length:
            # Sequences shorter than the widest filter are padded so every filter fits once.
            tokens = nn.functional.pad(tokens, (0, self.min_length - tokens.size(1)), value=PAD_ID)
        embedded = self.dropout(self.embedding(tokens)).transpose(1, 2)  # [B, E, T]
        mask = (tokens != PAD_ID).unsqueeze(1)  # [B, 1, T]
        pooled = []
        for conv in self.convs:
            features = torch.relu(conv(embedded))  # [B, F, T - k + 1]
            # Windows that start on padding must not win the max.
            valid = mask[:, :, : features.size(2)]
            features = features.masked_fill(~valid, float("-inf"))
            pooled.append(features.max(dim=2).values.clamp_min(0.0))
        return self.output(self.dropout(torch.cat(pooled, dim=1)))


def build_cnn(values: dict[str, Any], vocab_size: int, num_classes: int) -> CNNClassifier:
    return CNNClassifier(
        vocab_size,
        num_classes,
        embedding_dim=values["embedding_dim"],
        filter_sizes=values["filter_sizes"],
        num_filters=values["num_filters"],
        dropout=values["dropout"],
    )


CNN = register(Family("cnn", "classification", ("cnn",), CNN_PARAMS, build_cnn))
