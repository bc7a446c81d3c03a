"""Hugging Face corpora as hpo corpora: AG News and IMDB for classification, IWSLT2017 and
Multi30k for translation. ``datasets`` is imported only when one is loaded (see
:mod:`hpo.data.hub`)."""

from __future__ import annotations

from typing import Any

from hpo.data.corpus import ClassificationCorpus, LabelledTexts
from hpo.data.files import split_by_ratios
from hpo.data.hub import column, has_split, label_names, load_split, local_config
from hpo.data.parallel import ParallelTexts, TranslationCorpus


def huggingface_corpus(config: Any) -> ClassificationCorpus:
    """A classification corpus from a :class:`hpo.config.HuggingFaceData` section.

    Dev is cut from the hub's train split (``dev_fraction``, with ``seed``); test is the
    hub's test split.
    """
    name = config.dataset

    def convert(split: str) -> LabelledTexts:
        rows = load_split(name, split)
        labels = column(rows, "label")
        names = label_names(name, rows, "label")
        if names is not None and all(isinstance(v, int) for v in labels):
            labels = [names[v] for v in labels]
        return LabelledTexts(column(rows, "text"), [str(v) for v in labels])

    full_train = convert("train")
    dev_fraction = config.dev_fraction
    train, dev, _ = split_by_ratios(full_train, 1.0 - dev_fraction, dev_fraction, config.seed)
    if config.max_train_examples is not None:
        n = config.max_train_examples
        train = LabelledTexts(train.texts[:n], train.labels[:n])
    return ClassificationCorpus(train, dev, convert("test"), f"huggingface:{name}")


def huggingface_translation_corpus(config: Any) -> TranslationCorpus:
    """IWSLT2017 (any pair the hub's parquet conversion has) or Multi30k, both directions.

    IWSLT2017 rows hold a ``translation`` mapping per pair, Multi30k rows one column per
    language; either way the study's ``src_lang`` and ``tgt_lang`` pick the sides.
    """
    name, src, tgt = config.dataset, config.src_lang, config.tgt_lang
    folder = local_config(name, config.config) if config.config else None

    def convert(split: str) -> ParallelTexts:
        rows = load_split(name, split, folder)
        if "translation" in rows.column_names:
            pairs = column(rows, "translation")
            return ParallelTexts([p[src] for p in pairs], [p[tgt] for p in pairs])
        return ParallelTexts(column(rows, src), column(rows, tgt))

    train = convert("train")
    if config.max_train_examples is not None:
        n = config.max_train_examples
        train = ParallelTexts(train.src[:n], train.tgt[:n])
    test = convert("test") if has_split(name, "test") else None
    return TranslationCorpus(train, convert("validation"), test, f"huggingface:{name}", src, tgt)
