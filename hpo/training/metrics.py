"""Classification and translation metrics, one function per metric."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of predictions equal to the labels."""
    if labels.numel() == 0:
        return 0.0
    return (predictions == labels).sum().item() / labels.numel()


def macro_f1(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """Unweighted mean of the per-class F1 scores (a class absent from both counts as 0)."""
    predictions = predictions.long()
    labels = labels.long()
    classes = torch.arange(num_classes, device=labels.device)
    predicted = predictions.unsqueeze(1) == classes  # [N, C]
    actual = labels.unsqueeze(1) == classes
    true_pos = (predicted & actual).sum(0).double()
    false_pos = (predicted & ~actual).sum(0).double()
    false_neg = (~predicted & actual).sum(0).double()
    denominator = 2 * true_pos + false_pos + false_neg
    f1 = torch.where(denominator > 0, 2 * true_pos / denominator.clamp_min(1), 0.0)
    return float(f1.mean())


def is_better(value: float, best: float | None, maximize: bool) -> bool:
    if best is None:
        return True
    return value > best if maximize else value < best


# Translation metrics. sacrebleu is imported where it is used: classification never needs it.


@dataclass
class CorpusScore:
    """A corpus-level score and the sacrebleu signature that says how it was computed."""

    value: float
    signature: str


def corpus_bleu(hypotheses: list[str], references: list[str], tokenize: str = "13a") -> CorpusScore:
    """sacrebleu's corpus BLEU of detokenized ``hypotheses`` against raw ``references``.

    Example:
        >>> round(corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]).value, 6)
        100.0
    """
    from sacrebleu.metrics import BLEU

    metric = BLEU(tokenize=tokenize)
    score = metric.corpus_score(hypotheses, [references])
    return CorpusScore(float(score.score), str(metric.get_signature()))


def corpus_chrf(hypotheses: list[str], references: list[str]) -> CorpusScore:
    """sacrebleu's corpus chrF (character n-gram F-score), 0 to 100.

    Example:
        >>> corpus_chrf(["Hallo Welt"], ["Hallo Welt"]).value
        100.0
    """
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    score = metric.corpus_score(hypotheses, [references])
    return CorpusScore(float(score.score), str(metric.get_signature()))


def perplexity(nll_sum: float, n_tokens: int) -> float:
    """``exp`` of the mean negative log-likelihood per target token (infinite if it overflows).

    Example:
        >>> round(perplexity(2 * math.log(4), 2), 6)
        4.0
    """
    if n_tokens <= 0:
        return float("inf")
    mean = nll_sum / n_tokens
    return math.exp(mean) if mean < 700 else float("inf")
