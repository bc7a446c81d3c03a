"""Greedy and beam search stop computing a sentence once it is done."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from hpo.data.tokenizer import EOS_ID
from hpo.models.decoding_state import StepDecoder
from hpo.training.decoding import beam_search, greedy_decode

VOCAB = 16


@dataclass
class RowState:
    """Which sentence each row decodes, and how many tokens it has had."""

    rows: torch.Tensor
    position: int

    def select(self, index: torch.Tensor) -> RowState:
        return RowState(self.rows.index_select(0, index), self.position)

    def repeat(self, times: int) -> RowState:
        return RowState(self.rows.repeat_interleave(times), self.position)


class ScriptedModel:
    """A decoder that is sure of the next token of each sentence's script, and counts the
    rows it is asked to compute at every step."""

    def __init__(self, scripts: list[list[int]]):
        self.scripts, self.rows_per_step = scripts, []

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> RowState:
        return RowState(torch.arange(src.size(0)), 0)

    def step(self, prev_tokens: torch.Tensor, state: RowState) -> tuple[torch.Tensor, RowState]:
        self.rows_per_step.append(len(state.rows))
        logits = torch.zeros(len(state.rows), VOCAB)
        for i, row in enumerate(state.rows.tolist()):
            script = self.scripts[row]  # ends in EOS, which it repeats after its end
            logits[i, script[min(state.position, len(script) - 1)]] = 10.0
        return logits, RowState(state.rows, state.position + 1)


@pytest.mark.parametrize("decode", ["greedy", "beam of 1"])
def test_a_sentence_leaves_the_batch_at_its_eos_or_its_length_cap(decode):
    # Sentence 0 ends with EOS after one token, sentence 1 is cut by its cap of 2 tokens,
    # sentence 2 runs to its EOS after three.
    model = ScriptedModel([[5, EOS_ID], [6, 7, 8, EOS_ID], [9, 10, 11, EOS_ID]])
    assert isinstance(model, StepDecoder)
    src, lengths = torch.ones(3, 4, dtype=torch.long), torch.tensor([4, 2, 4])
    if decode == "greedy":
        ids = greedy_decode(model, src, lengths, ratio=1.0, offset=0)
    else:
        ids = beam_search(model, src, lengths, beam_size=1, ratio=1.0, offset=0)
    assert ids == [[5], [6, 7], [9, 10, 11]]
    assert model.rows_per_step == [3, 3, 1, 1]


def test_beam_search_drops_a_done_sentences_beams_and_keeps_the_rest_in_order():
    model = ScriptedModel([[5, EOS_ID], [6, 7, 8, EOS_ID], [9, 10, EOS_ID]])
    src, lengths = torch.ones(3, 6, dtype=torch.long), torch.tensor([6, 6, 6])
    assert beam_search(model, src, lengths, beam_size=2) == [[5], [6, 7, 8], [9, 10]]
    # Two rows a sentence; a sentence leaves once both of its beams have finished.
    rows = model.rows_per_step
    assert rows[0] == 6 and rows[-1] == 2  # sentence 1, the longest, decodes alone at the end
    assert rows == sorted(rows, reverse=True) and all(n % 2 == 0 for n in rows)


class EagerToEnd:
    """A decoder that always ranks EOS first and token 7 second, as an undertrained model
    often does at the first step."""

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> RowState:
        return RowState(torch.arange(src.size(0)), 0)

    def step(self, prev_tokens: torch.Tensor, state: RowState) -> tuple[torch.Tensor, RowState]:
        logits = torch.zeros(len(state.rows), VOCAB)
        logits[:, EOS_ID], logits[:, 7] = 10.0, 9.0
        return logits, RowState(state.rows, state.position + 1)


@pytest.mark.parametrize("beam_size", [None, 1, 2, 5])
def test_no_output_is_empty_where_the_model_would_end_at_once(beam_size):
    model = EagerToEnd()
    src, lengths = torch.ones(2, 4, dtype=torch.long), torch.tensor([4, 3])
    if beam_size is None:
        ids = greedy_decode(model, src, lengths)
    else:
        ids = beam_search(model, src, lengths, beam_size=beam_size, length_penalty=1.0)
    assert ids == [[7], [7]]  # EOS only from the second step on
