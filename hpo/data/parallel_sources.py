"""Translation corpora from a study's ``data`` section: files, gettext catalogs, Hugging Face."""

from __future__ import annotations

from hpo.data.corpus import skipped_note
from hpo.data.parallel import (
    ParallelTexts,
    TranslationCorpus,
    read_parallel_text,
    read_tsv_pairs,
    split_pairs,
)
from hpo.errors import BadInput


def load_translation_corpus(config) -> TranslationCorpus:
    """Load the parallel corpus a translation study's ``data`` section names.

    Example:
        .. code-block:: python

            corpus = load_translation_corpus(load_study_config("translation-demo").data)
            print(len(corpus.train), corpus.src_lang, "->", corpus.tgt_lang)
    """
    from hpo.config import GettextData, ParallelData

    if isinstance(config, ParallelData):
        return _files_corpus(config)
    if isinstance(config, GettextData):
        return gettext_corpus(config)
    from hpo.data.huggingface import huggingface_translation_corpus

    return huggingface_translation_corpus(config)


def _files_corpus(config) -> TranslationCorpus:
    def read(path) -> ParallelTexts:
        if config.format == "tsv":
            return read_tsv_pairs(path, config.header)
        return read_parallel_text(path, config.src_lang, config.tgt_lang)

    train, dev = read(config.train), read(config.dev)
    test = read(config.test) if config.test is not None else None
    notes = []
    for path, split in ((config.train, train), (config.dev, dev), (config.test, test)):
        if split is not None:
            # The plain layout's two files by their prefix: data/train.{ja,en}.
            langs = f"{{{config.src_lang},{config.tgt_lang}}}"
            shown = path if config.format == "tsv" else f"{path}.{langs}"
            notes += skipped_note(shown, split.skipped_lines, "pair(s) with one side blank")
    return TranslationCorpus(
        train, dev, test, str(config.train.parent), config.src_lang, config.tgt_lang, notes
    )


def gettext_corpus(config) -> TranslationCorpus:
    """English <-> X pairs of the installed gettext catalogs, split by ratios with a seed."""
    from hpo.data.gettext_catalogs import message_pairs

    other = config.tgt_lang if config.src_lang == "en" else config.src_lang
    catalogs = config.locale_dir / other / "LC_MESSAGES"
    found = message_pairs(
        other, config.locale_dir, min_words=config.min_words, max_words=config.max_words
    )
    if not found:
        raise BadInput(f"no gettext messages for language {other!r} in {catalogs}")
    if config.max_pairs is not None and len(found) > config.max_pairs:
        # The shortest messages first: they make a corpus that small models can learn.
        found = sorted(found, key=lambda p: (len(p[0]), p))[: config.max_pairs]
    english, foreign = [p[0] for p in found], [p[1] for p in found]
    pairs = (
        ParallelTexts(english, foreign)
        if config.src_lang == "en"
        else ParallelTexts(foreign, english)
    )
    split = config.split
    train, dev, test = split_pairs(pairs, split.train, split.dev, split.seed)
    return TranslationCorpus(
        train,
        dev,
        test if len(test) else None,
        f"gettext:{config.src_lang}-{config.tgt_lang}",
        config.src_lang,
        config.tgt_lang,
    )
