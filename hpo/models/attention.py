"""Attention over encoder states for the seq2seq decoder, with padded positions masked."""

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

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self,
        query: torch.Tensor,  # [B, H]
        keys: torch.Tensor,  # [B, S, K] from project_keys
        memory: torch.Tensor,  # [B, S, M] encoder states
        mask: torch.Tensor,  # [B, S], True at real tokens
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The context vector [B, M] and the attention weights [B, S]."""
        scores = self.scores(query, keys).float()
        # Padding must get no weight: its encoder states are not part of the sentence.
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1).to(memory.dtype), memory).squeeze(1)
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

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        energy = torch.tanh(self.query_layer(query).unsqueeze(1) + keys)  # [B, S, A]
        return self.energy_layer(energy).squeeze(2)


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

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
