"""The Transformer's multi-head attention, and which of PyTorch's kernels computes it.

Keys and values are projected apart from the queries, so that a decoding step reuses those
of the source and of the tokens before it (:mod:`hpo.models.transformer`).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over ``heads`` heads, keys and values given projected.

    Keys and values are projected apart from queries (:meth:`keys_values`) so that a
    decoding step reuses those of the source and of the tokens before it.
    """

    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] -> [B, heads, T, D / heads]."""
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values [B, heads, T, D / heads] of the states ``x`` [B, T, D]."""
        keys, values = self.key_value(x).chunk(2, dim=-1)
        return self._split(keys), self._split(values)

    def forward(
        self,
        x: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """Queries from ``x`` [B, T, D] attend to ``keys``/``values``; ``mask`` [B, 1, 1, S]
        is True where a key may be attended to, ``causal`` hides every later position."""
        queries = self._split(self.query(x))
        with kernel_for(queries):
            attended = F.scaled_dot_product_attention(
                queries,
                keys,
                values,
                attn_mask=mask,
                dropout_p=self.dropout if self.training else 0.0,
                is_causal=causal,
            )
        return self.out(attended.transpose(1, 2).flatten(2))


def kernel_for(queries: torch.Tensor) -> contextlib.AbstractContextManager:
    """The attention kernel for ``queries``: PyTorch's choice, except on a CPU in bfloat16.

    There PyTorch picks its fused (flash) kernel, whose backward pass is slow on sentence
    lengths: with the plain kernel (matrix products and a softmax) a 2+2-layer model
    trained 1.2x as fast on real batches and 1.56x on 64 sentences of 10 tokens, and was
    faster at every length measured up to 200 tokens (benchmarks/RESULTS.md 1). In float32
    the two are about even.
    """
    if queries.device.type == "cpu" and queries.dtype == torch.bfloat16:
        return sdpa_kernel(SDPBackend.MATH)
    return contextlib.nullcontext()


__all__ = ["MultiHeadAttention", "kernel_for"]
