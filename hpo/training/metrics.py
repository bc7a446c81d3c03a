"""Classification metrics, one function per metric."""

from __future__ import annotations

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
