"""What a model that learned nothing scores: the floor below which a trial is hopeless.

A trial that, after its first rung, is no better than always predicting the majority class
(or, in translation, than empty output or a uniform guess over the vocabulary) is pruned:
SuccessiveHalving alone would keep it while no better trial exists to compare with, which is
exactly how the first trials of a study spend its budget.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

LOSS_MARGIN = 0.01  # nats


@dataclass(frozen=True)
class TrivialFloor:
    """A metric's value for the trivial predictor, and how close to it counts as no better.

    With ``loss`` set, a trial is hopeless only if its validation loss is no better than that
    either: a classifier still at the majority-class accuracy whose loss is already falling
    is learning, and is left to the pruner.

    Example:
        >>> floor = TrivialFloor("accuracy", 0.25, maximize=True, margin=0.01, name="majority")
        >>> floor.is_hopeless(0.255, val_loss=1.0), floor.is_hopeless(0.30, val_loss=1.0)
        (True, False)
    """

    metric: str
    value: float
    maximize: bool
    margin: float
    name: str
    loss: float | None = None

    def is_hopeless(self, value: float, val_loss: float) -> bool:
        if math.isnan(value):
            return True
        if self.maximize:
            at_floor = value <= self.value + self.margin
        else:
            at_floor = value >= self.value - self.margin
        return at_floor and (self.loss is None or val_loss >= self.loss - LOSS_MARGIN)

    def reason(self, value: float, where: str) -> str:
        also = f" and its loss no lower than {self.loss:.4g}" if self.loss is not None else ""
        return (
            f"hopeless: {self.metric} {value:.4g} at {where} is no better than "
            f"{self.name} ({self.value:.4g}){also}"
        )


def classification_floor(
    metric: str, train_labels: list[str], dev_labels: list[str]
) -> TrivialFloor:
    """The dev score of always predicting train's most frequent label.

    For accuracy that is the label's share of dev; for macro-F1 its F1 (precision = share,
    recall 1) over the number of classes; for the loss, the cross-entropy of the train
    label frequencies on dev, which also bounds the loss of the other two. One point of
    accuracy or F1 (0.01 nats of loss) above it still counts as nothing learned.

    Example:
        >>> floor = classification_floor("accuracy", ["a", "a", "b"], ["a", "b", "b", "b"])
        >>> floor.value
        0.25
    """
    prior = Counter(train_labels)
    majority = prior.most_common(1)[0][0]
    dev = Counter(dev_labels)
    share = dev[majority] / len(dev_labels)
    total = len(train_labels)
    # Cross-entropy on dev of the train label frequencies; an unseen label counts as half
    # an example so that the loss stays finite.
    prior_loss = -sum(
        n / len(dev_labels) * math.log(prior.get(c, 0.5) / total) for c, n in dev.items()
    )
    name = f"always predicting {majority!r}"
    if metric == "accuracy":
        return TrivialFloor(metric, share, True, 0.01, name, prior_loss)
    if metric == "f1":
        classes = len(set(prior) | set(dev))
        f1 = 2 * share / (1 + share) / classes if share else 0.0
        return TrivialFloor(metric, f1, True, 0.01, name, prior_loss)
    return TrivialFloor(metric, prior_loss, False, LOSS_MARGIN, "the label frequencies of train")


def translation_floor(metric: str, tgt_vocab_size: int) -> TrivialFloor:
    """BLEU and chrF of output that matches nothing (about 0), perplexity of a uniform guess.

    A model whose dev perplexity is still half the target vocabulary size or more after its
    first rung has not learned which tokens are frequent.

    Example:
        >>> translation_floor("ppl", 8000).is_hopeless(5000.0, val_loss=8.5)
        True
    """
    if metric == "ppl":
        return TrivialFloor(metric, float(tgt_vocab_size), False, tgt_vocab_size / 2, "uniform")
    margin = 0.1 if metric == "bleu" else 1.0
    return TrivialFloor(metric, 0.0, True, margin, "output that matches nothing")
