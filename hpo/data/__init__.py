"""Corpora, tokenizers and batches."""

from __future__ import annotations

from hpo.data.corpus import ClassificationCorpus, LabelledTexts


def load_classification_corpus(config) -> ClassificationCorpus:
    """Load the corpus a study's ``data`` section names."""
    from hpo.config import BuiltinData, FilesData

    if isinstance(config, FilesData):
        from hpo.data.files import load_files_corpus

        return load_files_corpus(config)
    if isinstance(config, BuiltinData):
        from hpo.data.builtin import topics_corpus

        return topics_corpus(config.size, config.label_noise, config.seed)
    from hpo.data.huggingface import huggingface_corpus

    return huggingface_corpus(config)


__all__ = ["ClassificationCorpus", "LabelledTexts", "load_classification_corpus"]
