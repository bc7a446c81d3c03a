"""Using a tuned classifier: score a split (``hpo evaluate``), label text (``hpo predict``).

Both run the trial's validation pass (:func:`hpo.training.trainer.run_split`) and its metric
functions, so ``evaluate`` on dev gives the value the trial recorded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.errors import BadInput, HpoError
from hpo.study.trial_lookup import TrialCheckpoint

if TYPE_CHECKING:
    import torch


@dataclass
class ClassifierEvaluation:
    """Accuracy, macro-F1, per-class scores and the confusion matrix on one split.

    ``confusion_matrix[i][j]`` counts examples of ``labels[i]`` predicted as ``labels[j]``.
    """

    study: str
    trial: int
    checkpoint: str
    split: str
    examples: int
    device: str
    metric: str  # the study's metric; ``value`` is its value here
    value: float
    loss: float
    accuracy: float
    f1: float
    labels: list[str]
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    confusion_matrix: list[list[int]]

    def text(self) -> str:
        width = max(9, *(len(label) for label in self.labels))
        lines = [
            f"study {self.study}, trial {self.trial} ({self.checkpoint}), {self.split} split, "
            f"{self.examples} examples, on {self.device}",
            f"accuracy = {self.accuracy:.4f}  macro-F1 = {self.f1:.4f}  loss = {self.loss:.4f}",
            "",
            f"{'label':<{width}}  precision  recall      f1  support",
        ]
        for label in self.labels:
            scores = self.per_class[label]
            lines.append(
                f"{label:<{width}}  {scores['precision']:9.4f}  {scores['recall']:6.4f}  "
                f"{scores['f1']:6.4f}  {int(scores['support']):7d}"
            )
        cells = max(5, *(len(str(n)) for row in self.confusion_matrix for n in row))
        lines += ["", "confusion matrix (rows: true label, columns: predicted, in the order above)"]
        for label, counts in zip(self.labels, self.confusion_matrix, strict=True):
            lines.append(f"{label:<{width}}  " + " ".join(f"{n:>{cells}d}" for n in counts))
        return "\n".join(lines)


# The sizes a classifier is built with, and what else its checkpoint must hold to be used
# without its study's data.
CLASSIFIER_SIZES = ("vocab_size", "num_classes")
CLASSIFIER_NEEDS = ("label_names", "max_length")


def load_classifier(directory: Path, device: torch.device | str = "cpu"):
    """The model (on ``device``, in eval mode), tokenizer and metadata of a kept classifier.

    A checkpoint that lacks something a model needs to be used (written by an older hpo) is
    one-line :class:`HpoError`.

    Example:
        .. code-block:: python

            model, tokenizer, meta = load_classifier(Path("runs/demo/trial-7"))
            print(meta["label_names"], meta["value"])
    """
    from hpo.checkpoints import rebuild_model
    from hpo.data.tokenizer import Tokenizer
    from hpo.tasks.classification.task import TOKENIZER_FILE

    model, meta = rebuild_model(
        directory, "classification", CLASSIFIER_SIZES, device, needed=CLASSIFIER_NEEDS
    )
    tokenizer = Tokenizer(directory / TOKENIZER_FILE, max_length=meta["max_length"])
    return model, tokenizer, meta


def _threads_for(found: TrialCheckpoint, device) -> None:
    # Torch's CPU kernels sum in another order with another thread count; the trial's own
    # count gives its recorded value to the last bit.
    import torch

    if device.type == "cpu" and found.threads:
        torch.set_num_threads(found.threads)


def evaluate_classifier(
    found: TrialCheckpoint, split: str = "test", device: str | None = None
) -> ClassifierEvaluation:
    """Score a trial's classifier on the study's dev or test split.

    ``device`` (``--device``) overrides the study's ``training.device``.

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("demo", "best", None, task="classification")
            print(evaluate_classifier(found, "test").text())
    """
    from hpo.data import load_classification_corpus
    from hpo.data.batching import EncodedDataset
    from hpo.training.device import describe
    from hpo.training.metrics import class_scores, confusion_matrix
    from hpo.training.trainer import run_split

    if split not in ("dev", "test"):
        raise BadInput(f"--split must be dev or test, got {split!r}")
    target = found.torch_device(device)
    if found.config is None:
        raise BadInput(f"study {found.study!r}: evaluate needs its study file for the data")
    corpus = load_classification_corpus(found.config.data)
    texts = corpus.dev if split == "dev" else corpus.test
    if texts is None:
        raise BadInput(f"study {found.study!r} has no test split")
    _threads_for(found, target)
    model, tokenizer, meta = load_classifier(found.directory, target)
    names = list(meta["label_names"])
    # The same labels in another order are the same classes (models saved before integer
    # labels were ordered by number list 10 before 2): the model's own order gives the ids.
    if set(names) != set(corpus.label_names):
        raise HpoError(
            f"the labels of study {found.study!r}'s data {corpus.label_names} are not the "
            f"model's {names}: the data changed since trial {found.number}"
        )
    index = {name: i for i, name in enumerate(names)}
    data = EncodedDataset(tokenizer.encode(texts.texts), [index[y] for y in texts.labels])
    settings = _settings(meta, found.amp)
    output = run_split(model, data, settings, target)
    metrics = output.metrics(settings.num_classes)
    scores = class_scores(output.predictions, output.labels, settings.num_classes)
    metric = found.config.metric
    return ClassifierEvaluation(
        study=found.study,
        trial=found.number,
        checkpoint=str(found.directory),
        split=split,
        examples=len(data),
        device=describe(target),
        metric=metric,
        value=output.loss if metric == "loss" else metrics[metric],
        loss=output.loss,
        accuracy=metrics["accuracy"],
        f1=metrics["f1"],
        labels=names,
        per_class={
            name: {
                "precision": scores.precision[i],
                "recall": scores.recall[i],
                "f1": scores.f1[i],
                "support": scores.support[i],
            }
            for i, name in enumerate(names)
        },
        confusion_matrix=confusion_matrix(
            output.predictions, output.labels, settings.num_classes
        ).tolist(),
    )


def _settings(meta: dict[str, Any], amp: bool):
    from hpo.training import FitSettings

    # The trial's batch size: the same batches in the same order as its validation.
    return FitSettings.from_params(
        meta["params"], max_epochs=1, amp=amp, num_classes=meta["num_classes"]
    )


@dataclass
class Prediction:
    """The label of one input line and its probability, with every class's probability.

    A blank line has none of them (``None``): it is answered by a blank line.
    """

    label: str | None
    probability: float | None
    probabilities: dict[str, float] | None

    def text(self) -> str:
        return "" if self.label is None else f"{self.label}\t{self.probability:.4f}"

    def json(self) -> str:
        return json.dumps(asdict(self))


@dataclass
class Predictions:
    """One :class:`Prediction` per input line, and how many lines were cut to the limit."""

    predictions: list[Prediction]
    truncated: int
    max_length: int

    def notice(self) -> str | None:
        """The one line for stderr when lines were truncated, else ``None``."""
        if not self.truncated:
            return None
        return (
            f"note: {self.truncated} input line(s) longer than the model's limit of "
            f"{self.max_length} tokens were truncated to it"
        )


def predict_lines(
    found: TrialCheckpoint, lines: list[str], device: str | None = None
) -> Predictions:
    """Classify every line (batched, on the study's device unless ``device`` says otherwise).

    Example:
        .. code-block:: python

            found = find_trial_checkpoint("demo", "best", None, task="classification")
            for prediction in predict_lines(found, ["the striker scored twice"]).predictions:
                print(prediction.text())
    """
    from hpo.data.batching import EncodedDataset
    from hpo.training.trainer import run_split

    filled = [i for i, line in enumerate(lines) if line.strip()]
    if not filled:
        raise BadInput("the input is empty: no line to classify")
    target = found.torch_device(device)
    model, tokenizer, meta = load_classifier(found.directory, target)
    ids, truncated = tokenizer.encode_counting_cuts([lines[i].strip() for i in filled])
    # Unlabelled text: the labels are placeholders, and the loss run_split computes is unused.
    data = EncodedDataset(ids, [0] * len(ids))
    output = run_split(model, data, _settings(meta, found.amp), target)
    probabilities = output.logits.softmax(dim=1).cpu().tolist()
    names = list(meta["label_names"])
    predictions = [Prediction(None, None, None) for _ in lines]
    for position, best, row in zip(filled, output.predictions.tolist(), probabilities, strict=True):
        by_name = dict(zip(names, row, strict=True))
        predictions[position] = Prediction(names[best], row[best], by_name)
    return Predictions(predictions, truncated, tokenizer.max_length)


__all__ = [
    "ClassifierEvaluation",
    "Prediction",
    "Predictions",
    "evaluate_classifier",
    "load_classifier",
    "predict_lines",
]
