"""Recurrent encoder-decoder for translation, as in the seq2seq notebooks and JoeyNMT.

The encoder reads the source with stacked LSTM/GRU layers (optionally bidirectional, with
residual connections between stacked layers); the decoder starts from the encoder's final
states (bridged to the decoder size) and emits one target token per step, attending to the
encoder states (none, additive or multiplicative attention). Under full teacher forcing,
without additive attention, it runs the whole target in one recurrent call per layer; with
it, the recurrence steps through the target and the output layer runs once.
The model implements the decoding interface of :mod:`hpo.models.decoding_state`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from hpo.data.tokenizer import PAD_ID
from hpo.models.attention import ATTENTIONS, AdditiveAttention, MultiplicativeAttention
from hpo.models.recurrent_state import Memory, RecurrentState
from hpo.models.registry import Family, register
from hpo.params import choice, flag, fraction, integer

CELLS = ("lstm", "gru")

SEQ2SEQ_PARAMS = (
    choice("cell", "lstm", CELLS, "recurrent cell of encoder and decoder"),
    choice("attention", "additive", ATTENTIONS, "none, Bahdanau (additive) or Luong"),
    integer("embedding_dim", 128, "size of source and target embeddings", low=1),
    integer("hidden_size", 256, "decoder state and each encoder direction", low=1),
    integer("num_layers", 1, "stacked layers of encoder and decoder", low=1),
    flag("bidirectional", False, "read the source both ways; a bridge joins the states"),
    flag("residual", False, "add each stacked layer's input to its output"),
    fraction("dropout", 0.2, "dropout on embeddings, between layers and before the output"),
    flag("tie_embeddings", False, "share the decoder's input embeddings and output weights"),
)


class Encoder(nn.Module):
    """Embeddings -> stacked (bi)LSTM/GRU layers over the real tokens of each sentence."""

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        cell: str,
        bidirectional: bool,
        residual: bool,
        dropout: float,
    ):
        super().__init__()
        rnn_class = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.directions
        # One module per layer, so that residual connections can join the layers.
        self.layers = nn.ModuleList(
            rnn_class(
                embedding_dim if i == 0 else self.output_size,
                hidden_size,
                batch_first=True,
                bidirectional=bidirectional,
            )
            for i in range(num_layers)
        )
        self.residual = residual
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, src: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Encoder states [B, S, M] and the final states of every layer [L, B, M] (h, c)."""
        x = self.dropout(self.embedding(src))
        finals_h, finals_c = [], []
        for i, rnn in enumerate(self.layers):
            # Packing makes each layer's final state that of the last real token, not padding.
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, state = rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
            if self.residual and out.size(-1) == x.size(-1):
                out = out + x
            h, c = state if isinstance(state, tuple) else (state, None)
            finals_h.append(torch.cat(list(h), dim=-1))  # directions joined: [B, M]
            if c is not None:
                finals_c.append(torch.cat(list(c), dim=-1))
            x = self.dropout(out) if i + 1 < len(self.layers) else out
        cell = torch.stack(finals_c) if finals_c else None
        return x, torch.stack(finals_h), cell


class Decoder(nn.Module):
    """One target token per step: embeddings (+ additive context) -> stacked cells ->
    (multiplicative context) -> attentional layer -> output over the target vocabulary.

    Under full teacher forcing, :meth:`forward_sequence` runs every target position at once
    (each layer one LSTM/GRU call over the whole sequence, on the cells' own weights) when
    no step needs the one before: with no attention or multiplicative attention, whose
    query is the new top-layer state. Additive attention feeds the previous step's context
    into the input, so its recurrence steps through the target; the output layer still
    runs once over all positions, not once a step.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        cell: str,
        attention: str,
        memory_size: int,
        residual: bool,
        dropout: float,
        tie_embeddings: bool,
    ):
        super().__init__()
        self.is_lstm = cell == "lstm"
        cell_class = nn.LSTMCell if self.is_lstm else nn.GRUCell
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.attention_type = attention
        input_size = embedding_dim + (memory_size if attention == "additive" else 0)
        self.cells = nn.ModuleList(
            cell_class(input_size if i == 0 else hidden_size, hidden_size)
            for i in range(num_layers)
        )
        # Weightless (meta) twins of the cells that run a whole sequence in one call; they
        # are handed the cells' weights at each call, so the state dict stays the cells'.
        rnn_class = nn.LSTM if self.is_lstm else nn.GRU
        self._sequence_rnns = tuple(
            rnn_class(c.input_size, hidden_size, batch_first=True, device="meta")
            for c in self.cells
        )
        self.attention: AdditiveAttention | MultiplicativeAttention | None = None
        if attention == "additive":
            self.attention = AdditiveAttention(hidden_size, memory_size, hidden_size)
        elif attention == "multiplicative":
            self.attention = MultiplicativeAttention(hidden_size, memory_size)
        self.combine = (
            nn.Linear(hidden_size + memory_size, hidden_size) if attention != "none" else None
        )
        self.residual = residual
        self.dropout = nn.Dropout(dropout)
        out_size = hidden_size
        self.pre_output = None
        if tie_embeddings and hidden_size != embedding_dim:
            self.pre_output = nn.Linear(hidden_size, embedding_dim)
            out_size = embedding_dim
        self.output = nn.Linear(out_size, vocab_size)
        if tie_embeddings:
            self.output.weight = self.embedding.weight

    @property
    def runs_whole_sequences(self) -> bool:
        """Whether :meth:`forward_sequence` runs each layer's recurrence in one call."""
        return self.attention_type != "additive"

    def step(
        self, prev_tokens: torch.Tensor, state: RecurrentState
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Logits [B, V] of the next token given the previous one [B]."""
        x, context, new_state = self._advance(prev_tokens, state)
        return self._output(x, new_state.memory, context), new_state

    def _advance(
        self, prev_tokens: torch.Tensor, state: RecurrentState
    ) -> tuple[torch.Tensor, torch.Tensor | None, RecurrentState]:
        """One step of the recurrence: the top layer's output [B, H], the step's additive
        attention context (None without it) and the new state."""
        memory = state.memory
        x = self.dropout(self.embedding(prev_tokens))
        context = None
        if isinstance(self.attention, AdditiveAttention):
            # Bahdanau: attend with the previous top-layer state, feed the context in.
            context, _ = self.attention(state.hidden[-1], memory.keys, memory.states, memory.mask)
            x = torch.cat([x, context], dim=-1)
        hidden, cells = [], []
        for i, layer in enumerate(self.cells):
            if state.cell is not None:  # LSTM
                h, c = layer(x, (state.hidden[i], state.cell[i]))
                cells.append(c)
            else:
                h = layer(x, state.hidden[i])
            hidden.append(h)
            out = h + x if self.residual and i > 0 else h
            x = self.dropout(out) if i + 1 < len(self.cells) else out
        new_state = RecurrentState(
            torch.stack(hidden), torch.stack(cells) if cells else None, memory
        )
        return x, context, new_state

    def forward_sequence(
        self, tgt_in: torch.Tensor, state: RecurrentState, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits [B, T, V] of every position of ``tgt_in`` [B, T] (the gold previous tokens);
        with ``keep`` (bool [B, T]) only those of the kept positions, [N, V].

        The same logits as :meth:`step` over ``tgt_in`` one token at a time, with each
        layer's recurrence run in one call. Additive attention feeds each step's context
        into the next, so there the recurrence steps through the target; the output layer
        (the product with the vocabulary) still runs once, over the kept positions only.
        """
        if not self.runs_whole_sequences:
            tops, contexts = [], []
            for t in range(tgt_in.size(1)):
                top, context, state = self._advance(tgt_in[:, t], state)
                assert context is not None  # additive attention's, which each step has
                tops.append(top)
                contexts.append(context)
            x, context = torch.stack(tops, dim=1), torch.stack(contexts, dim=1)
            return self._output(x, state.memory, context, keep)
        x = self.dropout(self.embedding(tgt_in))
        for i, layer in enumerate(self.cells):
            # The cell's weight_ih, ..., bias_hh are the one-layer RNN's weight_ih_l0, ...
            weights: dict[str, torch.Tensor] = {
                f"{name}_l0": param for name, param in layer.named_parameters()
            }
            h0 = state.hidden[i].unsqueeze(0)
            first = h0 if state.cell is None else (h0, state.cell[i].unsqueeze(0))
            out, _ = functional_call(self._sequence_rnns[i], weights, (x, first))
            out = out + x if self.residual and i > 0 else out
            x = self.dropout(out) if i + 1 < len(self.cells) else out
        return self._output(x, state.memory, keep=keep)

    def _output(
        self,
        x: torch.Tensor,
        memory: Memory,
        context: torch.Tensor | None = None,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Top-layer states [B, H] or [B, T, H] and the attention context (additive: the
        step's own; multiplicative: attended here) -> logits over the vocabulary, at the
        ``keep`` positions only where given."""
        if isinstance(self.attention, MultiplicativeAttention):
            # Luong: attend with the new top-layer state.
            context, _ = self.attention(x, memory.keys, memory.states, memory.mask)
        if context is not None and self.combine is not None:
            x = torch.tanh(self.combine(torch.cat([x, context], dim=-1)))
        x = self.dropout(x)
        if keep is not None:  # padding, whose logits no loss reads, skips the projection
            x = x[keep]
        if self.pre_output is not None:
            x = self.pre_output(x)
        return self.output(x)


class Seq2Seq(nn.Module):
    """Encoder-decoder translation model.

    Args:
        src_vocab_size: Source token ids.
        tgt_vocab_size: Target token ids.
        cell: ``"lstm"`` or ``"gru"``.
        embedding_dim: Size of source and target embeddings.
        hidden_size: Size of the decoder state and of each encoder direction.
        num_layers: Stacked layers of encoder and decoder.
        bidirectional: Read the source both ways; a bridge maps its states to the decoder.
        residual: Add each stacked layer's input to its output.
        attention: ``"none"``, ``"additive"`` (Bahdanau) or ``"multiplicative"`` (Luong).
        dropout: Dropout on embeddings, between layers and before the output.
        tie_embeddings: Share the decoder's input embeddings and output weights.

    Example:
        >>> model = Seq2Seq(50, 60, hidden_size=16, embedding_dim=8, attention="additive")
        >>> src, lengths = torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2])
        >>> model(src, lengths, torch.tensor([[2, 10], [2, 11]])).shape
        torch.Size([2, 2, 60])
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        cell: str = "lstm",
        embedding_dim: int = 128,
        hidden_size: int = 256,
        num_layers: int = 1,
        bidirectional: bool = False,
        residual: bool = False,
        attention: str = "additive",
        dropout: float = 0.2,
        tie_embeddings: bool = False,
    ):
        super().__init__()
        self.encoder = Encoder(
            src_vocab_size,
            embedding_dim,
            hidden_size,
            num_layers,
            cell,
            bidirectional,
            residual,
            dropout,
        )
        memory_size = self.encoder.output_size
        self.decoder = Decoder(
            tgt_vocab_size,
            embedding_dim,
            hidden_size,
            num_layers,
            cell,
            attention,
            memory_size,
            residual,
            dropout,
            tie_embeddings,
        )
        # A bidirectional encoder's joined states are twice the decoder's size.
        self.bridge_h = nn.Linear(memory_size, hidden_size) if bidirectional else None
        lstm_bridge = bidirectional and cell == "lstm"  # GRUs have no cell state to bridge
        self.bridge_c = nn.Linear(memory_size, hidden_size) if lstm_bridge else None

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> RecurrentState:
        """The decoder's initial state and memory for a batch of source sentences."""
        states, final_h, final_c = self.encoder(src, lengths)
        if self.bridge_h is not None:
            final_h = torch.tanh(self.bridge_h(final_h))
            if final_c is not None and self.bridge_c is not None:
                final_c = torch.tanh(self.bridge_c(final_c))
        attention = self.decoder.attention
        keys = attention.project_keys(states) if attention is not None else None
        mask = src != PAD_ID
        return RecurrentState(final_h, final_c, Memory(states, mask, keys))

    def step(
        self, prev_tokens: torch.Tensor, state: RecurrentState
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Logits [B, V] of the next token after ``prev_tokens`` [B], and the new state."""
        return self.decoder.step(prev_tokens, state)

    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt_in: torch.Tensor,
        teacher_forcing: float = 1.0,
        keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits [B, T, V] for every target position; with ``keep`` (bool [B, T]) only
        those of the kept positions, [N, V] in row-major order.

        Under full teacher forcing the decoder runs the whole target at once where its
        attention allows, and its output layer once in any case (see :class:`Decoder`).
        With ``teacher_forcing`` below 1, each step feeds the gold previous token with that
        probability, else the model's own prediction (one draw per step for the batch).
        """
        state = self.encode(src, src_lengths)
        if teacher_forcing >= 1.0:
            return self.decoder.forward_sequence(tgt_in, state, keep)
        inputs = tgt_in[:, 0]
        outputs = []
        for t in range(tgt_in.size(1)):
            logits, state = self.decoder.step(inputs, state)
            outputs.append(logits)
            if t + 1 < tgt_in.size(1):
                use_gold = teacher_forcing >= 1.0 or float(torch.rand(())) < teacher_forcing
                inputs = tgt_in[:, t + 1] if use_gold else logits.argmax(-1).detach()
        logits = torch.stack(outputs, dim=1)
        return logits if keep is None else logits[keep]


def build_seq2seq(values: dict[str, Any], src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    """The recurrent translation model that ``values`` (every declared parameter) describe."""
    names = [p.name for p in SEQ2SEQ_PARAMS]
    return Seq2Seq(src_vocab_size, tgt_vocab_size, **{n: values[n] for n in names})


RNN_SEQ2SEQ = register(Family("rnn", "translation", ("rnn",), SEQ2SEQ_PARAMS, build_seq2seq))
