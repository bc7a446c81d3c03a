"""Greedy and batched beam-search decoding of any translation model.

Both are written against the decoding interface of :mod:`hpo.models.decoding_state`
(``encode``, ``step``, and the state's ``select`` and ``repeat``), which the recurrent and
the Transformer models implement. Output length is capped relative to the input:
``ratio * source length + offset`` tokens. No output is empty: EOS is not a choice at the
first step (fairseq's ``min_len`` of 1). An undertrained model often ranks EOS first
there, and with the length penalty an empty hypothesis then outscores every longer one
(beam 5 on a 2-epoch Transformer returned empty lines where greedy gave 7.7 tokens a
sentence). Beam search with one beam takes exactly the greedy path.
"""

from __future__ import annotations

from typing import Any

import torch

from hpo.data.tokenizer import BOS_ID, EOS_ID
from hpo.models.decoding_state import StepDecoder


def max_output_lengths(src_lengths: torch.Tensor, ratio: float, offset: int) -> list[int]:
    """The longest output allowed for each source sentence (at least one token).

    Example:
        >>> max_output_lengths(torch.tensor([4, 10]), ratio=1.5, offset=2)
        [8, 17]
    """
    return [max(1, int(ratio * n + offset)) for n in src_lengths.tolist()]


@torch.no_grad()
def greedy_decode(
    model: StepDecoder[Any],
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    ratio: float = 1.5,
    offset: int = 10,
) -> list[list[int]]:
    """The most likely next token at every step, until EOS or the length cap.

    A sentence that is done leaves the batch (its rows of the state are dropped), so each
    step computes only the sentences still being decoded.

    Example:
        .. code-block:: python

            ids = greedy_decode(model, batch.src, batch.src_lengths)
            texts = tgt_tokenizer.decode(ids)
    """
    limits = max_output_lengths(src_lengths, ratio, offset)
    state = model.encode(src, src_lengths)
    tokens = torch.full((src.size(0),), BOS_ID, dtype=torch.long, device=src.device)
    outputs: list[list[int]] = [[] for _ in range(src.size(0))]
    live = list(range(src.size(0)))  # the sentence of each row of the state
    for step in range(max(limits)):
        logits, state = model.step(tokens, state)
        if step == 0:
            logits = _no_end(logits)
        tokens = logits.argmax(dim=-1)
        keep = []
        for row, token in enumerate(tokens.tolist()):
            b = live[row]
            if token != EOS_ID:
                outputs[b].append(token)
                if step + 1 < limits[b]:
                    keep.append(row)
        if not keep:
            break
        if len(keep) < len(live):
            # The length of a batch's longest output (often a runaway repetition up to
            # the cap) would otherwise be paid by every sentence of the batch.
            index = torch.tensor(keep, dtype=torch.long, device=src.device)
            state, tokens = state.select(index), tokens.index_select(0, index)
            live = [live[row] for row in keep]
    return outputs


def _no_end(scores: torch.Tensor) -> torch.Tensor:
    """``scores`` (one row per hypothesis, one column per token) with EOS ruled out."""
    scores = scores.clone()
    scores[:, EOS_ID] = float("-inf")
    return scores


def length_normalised(score: float, length: int, alpha: float) -> float:
    """GNMT's length penalty: ``score / ((5 + length) / 6) ** alpha``; alpha 0 keeps the sum."""
    return score / (((5 + length) / 6) ** alpha) if alpha else score


@torch.no_grad()
def beam_search(
    model: StepDecoder[Any],
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    beam_size: int = 5,
    length_penalty: float = 1.0,
    ratio: float = 1.5,
    offset: int = 10,
) -> list[list[int]]:
    """The best of ``beam_size`` hypotheses kept per sentence, for a whole batch at once.

    Every step extends each live hypothesis by every token and keeps, per sentence, the
    ``2 * beam_size`` best extensions: those ending in EOS among the first ``beam_size``
    become finished hypotheses, the best others stay live (up to ``beam_size``). A sentence
    is done when it has ``beam_size`` finished hypotheses or reaches its length cap, and
    then leaves the batch; the finished one with the best length-normalised score wins.

    Example:
        .. code-block:: python

            ids = beam_search(model, batch.src, batch.src_lengths, beam_size=5)
    """
    if beam_size < 1:
        raise ValueError(f"beam size must be at least 1, got {beam_size}")
    k = beam_size
    limits = max_output_lengths(src_lengths, ratio, offset)
    state = model.encode(src, src_lengths).repeat(k)
    batch = src.size(0)
    device = src.device
    tokens = torch.full((batch * k,), BOS_ID, dtype=torch.long, device=device)
    # Only the first beam of a sentence is live at the start: the others are copies of it.
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    sequences: list[list[int]] = [[] for _ in range(batch * k)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    alive = list(range(batch))  # the sentences still decoded, k rows of the state each
    for step in range(max(limits)):
        logits, state = model.step(tokens, state)
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # [alive * k, V]
        if step == 0:
            log_probs = _no_end(log_probs)
        vocab = log_probs.size(-1)
        candidates = (scores.view(-1, 1) + log_probs).view(len(alive), k * vocab)
        top = candidates.topk(min(2 * k, k * vocab), dim=1)
        top_scores, top_index = top.values.tolist(), top.indices.tolist()

        rows, next_tokens, next_scores, next_sequences, still = [], [], [], [], []
        for p, b in enumerate(alive):
            chosen: list[tuple[int, int, float]] = []  # (beam row, token, score)
            for rank, (score, flat) in enumerate(zip(top_scores[p], top_index[p], strict=True)):
                if score == float("-inf"):
                    break
                row, token = p * k + flat // vocab, flat % vocab
                if token == EOS_ID:
                    if rank < k:
                        hypothesis = sequences[row]
                        normalised = length_normalised(score, len(hypothesis) + 1, length_penalty)
                        finished[b].append((normalised, hypothesis))
                elif len(chosen) < k:
                    chosen.append((row, token, score))
            if step + 1 >= limits[b]:
                # Out of length: the live hypotheses end here, unfinished.
                for row, token, score in chosen:
                    hypothesis = [*sequences[row], token]
                    normalised = length_normalised(score, len(hypothesis), length_penalty)
                    finished[b].append((normalised, hypothesis))
                chosen = []
            if len(finished[b]) >= k or not chosen:
                continue  # done: the sentence leaves the batch
            still.append(p)
            # A sentence with fewer live hypotheses than beams fills its slots with dead
            # ones (scored -inf), so that every sentence keeps k rows.
            while len(chosen) < k:
                chosen.append((p * k, EOS_ID, float("-inf")))
            for row, token, score in chosen:
                rows.append(row)
                next_tokens.append(token)
                next_scores.append(score)
                next_sequences.append([*sequences[row], token])
        if not still:
            break
        index = torch.tensor(rows, dtype=torch.long, device=device)
        state = state.select(index)
        tokens = torch.tensor(next_tokens, dtype=torch.long, device=device)
        scores = torch.tensor(next_scores, device=device).view(len(still), k)
        sequences = next_sequences
        alive = [alive[p] for p in still]

    return [max(hyps, key=lambda h: h[0])[1] if hyps else [] for hyps in finished]
