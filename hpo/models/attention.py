"""Attention over encoder states for the seq2seq decoder, with padded positions masked.

A query is one decoder state [B, H] (a step) or a whole sequence of them [B, T, H] (every
target position at once, when the queries do not depend on earlier contexts).
"""

from __future__ import annotations

import torch
from torch import nn

ATTENTIONS = ("none", "additive", "multiplicative")


class Attention(nn.Module):
    """Scores every encoder state against a decoder query and returns their weighted sum.

    Keys are projected once per sentence (:meth:`project_keys`); each decoder step then
    scores its query against them. Subclasses define the projection and the score.
    """

    def project_keys(self, memory: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def scores(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Scores [B, T, S] of queries [B, T, H] against keys [B, S, K]."""
        raise NotImplementedError

    def forward(
        self,
        query: torch.Tensor,  # [B, H] or [B, T, H]
        keys: torch.Tensor,  # [B, S, K] from project_keys
        memory: torch.Tensor,  # [B, S, M] encoder states
        mask: torch.Tensor,  # [B, S], True at real tokens
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The context [B, M] and the attention weights [B, S]; [B, T, M] and [B, T, S]
        for a sequence of queries."""
        one_step = query.dim() == 2
        queries = query.unsqueeze(1) if one_step else query
        scores = self.scores(queries, keys).float()
        # Padding must get no weight: its encoder states are not part of the sentence.
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.to(memory.dtype), memory)
        if one_step:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


class AdditiveAttention(Attention):
    """Bahdanau et al. (2015): ``v . tanh(W_q q + W_k k)``.

    Example:
        >>> attention = AdditiveAttention(query_size=4, memory_size=6, hidden_size=5)
        >>> memory = torch.randn(2, 3, 6)
        >>> mask = torch.tensor([[True, True, False], [True, True, True]])
        >>> context, weights = attention(torch.randn(2, 4), attention.project_keys(memory),
        ...                              memory, mask)
        >>> context.shape, (weights[:, 2] == 0).tolist()
        (torch.Size([2, 6]), [True, False])
    """

    def __init__(self, query_size: int, memory_size: int, hidden_size: int):
        super().__init__()
        self.key_layer = nn.Linear(memory_size, hidden_size, bias=False)
        self.query_layer = nn.Linear(query_size, hidden_size, bias=False)
        self.energy_layer = nn.Linear(hidden_size, 1, bias=False)

    def project_keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key_layer(memory)

    def scores(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        energy = torch.tanh(self.query_layer(queries).unsqueeze(2) + keys.unsqueeze(1))
        return self.energy_layer(energy).squeeze(3)  # [B, T, S]


class MultiplicativeAttention(Attention):
    """Luong et al. (2015), "general": ``q . W k``.

    Example:
        >>> attention = MultiplicativeAttention(query_size=4, memory_size=6)
        >>> memory = torch.randn(2, 3, 6)
        >>> mask = torch.ones(2, 3, dtype=torch.bool)
        >>> context, _ = attention(torch.randn(2, 4), attention.project_keys(memory),
        ...                        memory, mask)
        >>> context.shape
        torch.Size([2, 6])
    """

    def __init__(self, query_size: int, memory_size: int):
        super().__init__()
        self.key_layer = nn.Linear(memory_size, query_size, bias=False)

    def project_keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key_layer(memory)

    def scores(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return torch.bmm(queries, keys.transpose(1, 2))  # [B, T, S]
