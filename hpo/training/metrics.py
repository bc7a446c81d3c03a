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


def confusion_matrix(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """Counts ``[gold, predicted]``: row ``i`` holds the examples of class ``i`` by prediction.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist()
        [[1, 1], [0, 1]]
    """
    pairs = labels.long() * num_classes + predictions.long()
    counts = torch.bincount(pairs.flatten(), minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@dataclass
class ClassScores:
    """Precision, recall, F1 and support of every class (index = class id); a score whose
    denominator is 0 is 0."""

    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]


def _class_counts(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    predictions = predictions.long()
    labels = labels.long()
    classes = torch.arange(num_classes, device=labels.device)
    predicted = predictions.unsqueeze(1) == classes  # [N, C]
    actual = labels.unsqueeze(1) == classes
    true_pos = (predicted & actual).sum(0).double()
    false_pos = (predicted & ~actual).sum(0).double()
    false_neg = (~predicted & actual).sum(0).double()
    return true_pos, false_pos, false_neg


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    return torch.where(denominator > 0, numerator / denominator.clamp_min(1), 0.0)


def _f1(true_pos: torch.Tensor, false_pos: torch.Tensor, false_neg: torch.Tensor) -> torch.Tensor:
    return _ratio(2 * true_pos, 2 * true_pos + false_pos + false_neg)


def class_scores(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> ClassScores:
    """Per-class precision, recall and F1: the terms whose mean is :func:`macro_f1`.

    Example:
        >>> scores = class_scores(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2)
        >>> scores.precision, scores.recall, scores.support
        ([1.0, 0.5], [0.5, 1.0], [2, 1])
    """
    true_pos, false_pos, false_neg = _class_counts(predictions, labels, num_classes)
    return ClassScores(
        precision=_ratio(true_pos, true_pos + false_pos).tolist(),
        recall=_ratio(true_pos, true_pos + false_neg).tolist(),
        f1=_f1(true_pos, false_pos, false_neg).tolist(),
        support=[int(n) for n in (true_pos + false_neg).tolist()],
    )


def macro_f1(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """Unweighted mean of the per-class F1 scores (a class absent from both counts as 0)."""
    return float(_f1(*_class_counts(predictions, labels, num_classes)).mean())


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
