"""A Transformer encoder-decoder for translation (Vaswani et al., 2017), in the pre-norm form.

Every sublayer (self-attention, attention over the source, feed-forward) reads a
LayerNorm of its input and adds its output back to it, and each stack ends in a final
LayerNorm: pre-norm layers train stably without a long warm-up (Xiong et al., 2020), the
form of fairseq's ``normalize_before`` and JoeyNMT's Transformer. Token embeddings are
scaled by sqrt(d_model) and added to sinusoidal or learned positions; the output
projection can share the target embedding matrix, and source and target can share one
embedding matrix when their vocabularies have the same size.

Training runs every target position at once under a causal mask. Decoding runs one token
at a time through the interface of :mod:`hpo.models.decoding_state`, keeping each decoder
layer's self-attention keys and values (and the source's, computed once), so a step
attends over its cache instead of recomputing the prefix.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn

from hpo.data.tokenizer import PAD_ID
from hpo.models.multi_head_attention import MultiHeadAttention
from hpo.models.registry import Family, register
from hpo.params import choice, flag, fraction, integer

POSITIONS = ("sinusoidal", "learned")


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The fixed position encodings [length, dim]: sines on even, cosines on odd features.

    Example:
        >>> table = sinusoidal_positions(50, 8)
        >>> table.shape, table[0, :4].tolist()
        (torch.Size([50, 8]), [0.0, 1.0, 0.0, 1.0])
    """
    position = torch.arange(length, dtype=torch.float).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
    return table


class Positions(nn.Module):
    """Position encodings of ``length`` positions from ``start``: fixed sines or learned."""

    def __init__(self, kind: str, d_model: int, max_positions: int):
        super().__init__()
        self.d_model, self.max_positions = d_model, max_positions
        self.learned = nn.Embedding(max_positions, d_model) if kind == "learned" else None
        table = sinusoidal_positions(max_positions, d_model) if kind == "sinusoidal" else None
        self.table: torch.Tensor | None
        self.register_buffer("table", table, persistent=False)
        if self.learned is not None:
            nn.init.normal_(self.learned.weight, std=d_model**-0.5)

    def forward(self, length: int, start: int = 0) -> torch.Tensor:
        """Encodings [length, D] of positions ``start`` to ``start + length - 1``."""
        if self.learned is not None:
            # A decoded output may run past the longest position trained; the last learned
            # one stands in for those, as no value was ever learned for them.
            index = torch.arange(start, start + length, device=self.learned.weight.device)
            return self.learned(index.clamp(max=self.max_positions - 1))
        assert self.table is not None
        if start + length > self.table.size(0):  # sines go on for ever: extend the table
            self.table = sinusoidal_positions(2 * (start + length), self.d_model).to(self.table)
        return self.table[start : start + length]


def feed_forward(d_model: int, ff_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, ff_dim), nn.ReLU(), nn.Linear(ff_dim, d_model))


class EncoderLayer(nn.Module):
    """Self-attention over the source, then feed-forward; each on a LayerNorm, added back."""

    def __init__(
        self, d_model: int, heads: int, ff_dim: int, dropout: float, attention_dropout: float
    ):
        super().__init__()
        self.self_norm, self.ff_norm = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.self_attention = MultiHeadAttention(d_model, heads, attention_dropout)
        self.feed_forward = feed_forward(d_model, ff_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.self_norm(x)
        x = x + self.dropout(self.self_attention(h, *self.self_attention.keys_values(h), mask))
        return x + self.dropout(self.feed_forward(self.ff_norm(x)))


class DecoderLayer(nn.Module):
    """Causal self-attention, attention over the source, feed-forward (all pre-norm)."""

    def __init__(
        self, d_model: int, heads: int, ff_dim: int, dropout: float, attention_dropout: float
    ):
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attention = MultiHeadAttention(d_model, heads, attention_dropout)
        self.source_norm = nn.LayerNorm(d_model)
        self.source_attention = MultiHeadAttention(d_model, heads, attention_dropout)
        self.ff_norm = nn.LayerNorm(d_model)
        self.feed_forward = feed_forward(d_model, ff_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None,
        source: tuple[torch.Tensor, torch.Tensor],
        source_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """New states of the positions ``x`` [B, T, D], and the self-attention keys and values
        of every position so far. Without ``cache``, ``x`` is the whole target and each
        position sees those before it; with the keys and values of earlier positions,
        ``x`` is the next one, which sees them all."""
        h = self.self_norm(x)
        keys, values = self.self_attention.keys_values(h)
        if cache is not None:
            keys, values = torch.cat([cache[0], keys], dim=2), torch.cat([cache[1], values], dim=2)
        x = x + self.dropout(self.self_attention(h, keys, values, causal=cache is None))
        h = self.source_norm(x)
        x = x + self.dropout(self.source_attention(h, *source, source_mask))
        return x + self.dropout(self.feed_forward(self.ff_norm(x))), keys, values


@dataclass
class TransformerState:
    """The decoding state of :class:`Transformer`: per decoder layer, the keys and values of
    the source (computed once) and of the target tokens so far; the source padding mask;
    and the position of the next token (see :mod:`hpo.models.decoding_state`)."""

    source_keys: tuple[torch.Tensor, ...]  # per layer [B, heads, S, D / heads]
    source_values: tuple[torch.Tensor, ...]
    source_mask: torch.Tensor  # [B, 1, 1, S], True at real tokens
    keys: tuple[torch.Tensor, ...]  # per layer [B, heads, position, D / heads]
    values: tuple[torch.Tensor, ...]
    position: int

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> TransformerState:
        return TransformerState(
            tuple(map(fn, self.source_keys)),
            tuple(map(fn, self.source_values)),
            fn(self.source_mask),
            tuple(map(fn, self.keys)),
            tuple(map(fn, self.values)),
            self.position,
        )

    def select(self, index: torch.Tensor) -> TransformerState:
        return self._map(lambda t: t.index_select(0, index))

    def repeat(self, times: int) -> TransformerState:
        return self._map(lambda t: t.repeat_interleave(times, dim=0))


class Transformer(nn.Module):
    """Pre-norm Transformer encoder-decoder; the forward signature of
    :class:`hpo.models.seq2seq.Seq2Seq`, so the same trainer and decoders serve both.

    Args:
        src_vocab_size: Source token ids.
        tgt_vocab_size: Target token ids.
        layers: Encoder layers, and as many decoder layers.
        d_model: Width of every layer's input and output.
        heads: Attention heads; must divide ``d_model``.
        ff_dim: Width of the feed-forward sublayers.
        dropout: On the embeddings and every sublayer's output (residual dropout).
        attention_dropout: On the attention weights. Off by default (as in fairseq): with
            it, PyTorch's CPU attention leaves its fused kernel for a slower one.
        positions: ``"sinusoidal"`` (fixed, any length) or ``"learned"`` (one vector for
            each of ``max_positions`` positions).
        share_embeddings: One embedding matrix for source and target; needs vocabularies of
            the same size (with two sentencepiece models, an id means a different piece on
            each side, so this shares parameters rather than meanings).
        tie_output: The output projection is the target embedding matrix.
        max_positions: Positions learned with ``positions="learned"``.

    Example:
        >>> model = Transformer(50, 60, layers=2, d_model=16, heads=4, ff_dim=32)
        >>> src, lengths = torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2])
        >>> model(src, lengths, torch.tensor([[2, 10], [2, 11]])).shape
        torch.Size([2, 2, 60])
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        *,
        layers: int = 3,
        d_model: int = 256,
        heads: int = 4,
        ff_dim: int = 1024,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        positions: str = "sinusoidal",
        share_embeddings: bool = False,
        tie_output: bool = True,
        max_positions: int = 1024,
    ):
        super().__init__()
        if min(layers, d_model, heads, ff_dim) < 1:
            raise ValueError("layers, d_model, heads and ff_dim must be at least 1")
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        if positions not in POSITIONS:
            raise ValueError(f"unknown positions {positions!r}; expected one of {POSITIONS}")
        for name, rate in (("dropout", dropout), ("attention_dropout", attention_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            sizes = f"{src_vocab_size} (source) and {tgt_vocab_size} (target)"
            raise ValueError(f"share_embeddings needs vocabularies of one size, got {sizes}")
        self.d_model, self.heads = d_model, heads
        self.tgt_embedding = self._embedding(tgt_vocab_size, d_model)
        self.src_embedding = (
            self.tgt_embedding if share_embeddings else self._embedding(src_vocab_size, d_model)
        )
        self.src_positions = Positions(positions, d_model, max_positions)
        self.tgt_positions = Positions(positions, d_model, max_positions)
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(d_model, heads, ff_dim, dropout, attention_dropout) for _ in range(layers)
        )
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(d_model, heads, ff_dim, dropout, attention_dropout) for _ in range(layers)
        )
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        for name, param in self.named_parameters():
            if param.dim() == 2 and "embedding" not in name and "positions" not in name:
                nn.init.xavier_uniform_(param)
        self.output = nn.Linear(d_model, tgt_vocab_size, bias=False)
        if tie_output:
            self.output.weight = self.tgt_embedding.weight
        else:
            nn.init.normal_(self.output.weight, std=d_model**-0.5)

    @staticmethod
    def _embedding(vocab_size: int, d_model: int) -> nn.Embedding:
        # N(0, 1/d_model) scaled up by sqrt(d_model) gives inputs of unit scale, and a tied
        # output projection logits of unit scale.
        embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        nn.init.normal_(embedding.weight, std=d_model**-0.5)
        nn.init.zeros_(embedding.weight[PAD_ID])
        return embedding

    def _embed(
        self, tokens: torch.Tensor, embedding: nn.Embedding, positions: Positions, start: int = 0
    ) -> torch.Tensor:
        x = embedding(tokens) * math.sqrt(self.d_model) + positions(tokens.size(1), start)
        return self.dropout(x)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> TransformerState:
        """The encoded source, as every decoder layer's keys and values of it, and an empty
        target cache. (Lengths are implied by the padding; they are accepted for the
        interface.)"""
        mask = (src != PAD_ID)[:, None, None, :]
        x = self._embed(src, self.src_embedding, self.src_positions)
        for layer in self.encoder_layers:
            x = layer(x, mask)
        memory = self.encoder_norm(x)
        # A ModuleList hands out plain Modules; these are the DecoderLayers built in __init__.
        layers = cast(list[DecoderLayer], list(self.decoder_layers))
        source = [layer.source_attention.keys_values(memory) for layer in layers]
        empty = memory.new_zeros(src.size(0), self.heads, 0, self.d_model // self.heads)
        no_tokens = tuple(empty for _ in self.decoder_layers)
        return TransformerState(
            tuple(k for k, _ in source), tuple(v for _, v in source), mask, no_tokens, no_tokens, 0
        )

    def _decode(
        self, tgt: torch.Tensor, state: TransformerState, cached: bool, keep: Tensor | None = None
    ) -> tuple[torch.Tensor, TransformerState]:
        x = self._embed(tgt, self.tgt_embedding, self.tgt_positions, state.position)
        keys, values = [], []
        for i, layer in enumerate(self.decoder_layers):
            cache = (state.keys[i], state.values[i]) if cached else None
            source = (state.source_keys[i], state.source_values[i])
            x, k, v = layer(x, cache, source, state.source_mask)
            keys.append(k)
            values.append(v)
        logits = self.output(self.decoder_norm(x if keep is None else x[keep]))
        position = state.position + tgt.size(1)
        new_state = TransformerState(
            state.source_keys,
            state.source_values,
            state.source_mask,
            tuple(keys),
            tuple(values),
            position,
        )
        return logits, new_state

    def step(
        self, prev_tokens: torch.Tensor, state: TransformerState
    ) -> tuple[torch.Tensor, TransformerState]:
        """Logits [B, V] of the next token after ``prev_tokens`` [B]; the cache grows by one."""
        logits, state = self._decode(prev_tokens.unsqueeze(1), state, cached=True)
        return logits.squeeze(1), state

    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt_in: torch.Tensor,
        teacher_forcing: float = 1.0,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits [B, T, V] for every target position, all at once under a causal mask; with
        ``keep`` (bool [B, T]) only those of the kept positions, [N, V] in row-major order.

        A Transformer always trains under full teacher forcing: ``teacher_forcing`` is part
        of the signature all translation models share, and values below 1 are refused.
        """
        if teacher_forcing < 1.0:
            raise ValueError("a Transformer trains under full teacher forcing (1.0) only")
        logits, _ = self._decode(tgt_in, self.encode(src, src_lengths), cached=False, keep=keep)
        return logits


TRANSFORMER_PARAMS = (
    integer("layers", 3, "encoder layers, and as many decoder layers", low=1),
    integer("d_model", 256, "width of every layer; a multiple of heads", low=1),
    integer("heads", 4, "attention heads", low=1),
    integer("ff_dim", 1024, "width of the feed-forward sublayers", low=1),
    fraction("dropout", 0.1, "dropout on embeddings and sublayer outputs"),
    fraction("attention_dropout", 0.0, "dropout on attention weights (slow on CPU)"),
    choice("positions", "sinusoidal", POSITIONS, "fixed sinusoidal or learned positions"),
    flag("share_embeddings", False, "one embedding for source and target (equal vocabularies)"),
    flag("tie_output", True, "the output projection is the target embedding"),
)


def build_transformer(
    values: dict[str, Any], src_vocab_size: int, tgt_vocab_size: int
) -> Transformer:
    """The Transformer that ``values`` (every declared parameter) describe."""
    names = [p.name for p in TRANSFORMER_PARAMS]
    return Transformer(src_vocab_size, tgt_vocab_size, **{n: values[n] for n in names})


TRANSFORMER = register(
    Family("transformer", "translation", ("transformer",), TRANSFORMER_PARAMS, build_transformer)
)
