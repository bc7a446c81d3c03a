"""Hugging Face ``ag_news`` and ``imdb`` adapters; ``datasets`` is imported only here."""

from __future__ import annotations

from hpo.data.corpus import ClassificationCorpus, LabelledTexts
from hpo.data.files import split_by_ratios
from hpo.errors import DataUnavailable

# dataset name -> (Hugging Face path, text column, label column)
CLASSIFICATION_DATASETS = {
    "ag_news": ("fancyzhx/ag_news", "text", "label"),
    "imdb": ("stanfordnlp/imdb", "text", "label"),
}


def load_hub_dataset(path: str, name: str | None = None, **kwargs):
    """``datasets.load_dataset``, with every way of failing offline as one clear line."""
    try:
        import datasets
    except ImportError:
        raise DataUnavailable(
            f"dataset {path!r} needs the 'datasets' package: pip install 'hpo[huggingface]'"
        ) from None
    try:
        return datasets.load_dataset(path, name, **kwargs)
    except Exception as exc:  # offline, hub errors: all end the same way for the user
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataUnavailable(
            f"cannot load Hugging Face dataset {path!r} (offline?): {reason}"
        ) from None


def huggingface_corpus(config) -> ClassificationCorpus:
    """Build a corpus from a :class:`hpo.config.HuggingFaceData` section."""
    path, text_col, label_col = CLASSIFICATION_DATASETS[config.dataset]
    dataset = load_hub_dataset(path)
    names = dataset["train"].features[label_col].names

    def convert(split) -> LabelledTexts:
        return LabelledTexts(list(split[text_col]), [names[i] for i in split[label_col]])

    full_train = convert(dataset["train"])
    dev_fraction = config.dev_fraction
    train, dev, _ = split_by_ratios(full_train, 1.0 - dev_fraction, dev_fraction, config.seed)
    if config.max_train_examples is not None:
        train = LabelledTexts(
            train.texts[: config.max_train_examples], train.labels[: config.max_train_examples]
        )
    test = convert(dataset["test"])
    return ClassificationCorpus(train, dev, test, f"huggingface:{config.dataset}")
