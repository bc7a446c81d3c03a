"""Tokenized, encoded, length-filtered splits of a translation corpus, made once per process
and pair of vocabulary sizes, reused by trials."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hpo.config import MAX_VOCAB_SIZE
from hpo.data.parallel import TranslationCorpus
from hpo.data.seq2seq_batching import ParallelDataset
from hpo.data.tokenizer import Tokenizer, train_sentencepiece
from hpo.params import integer

# A space may search each language's vocabulary size; unset, the study's tokenizer holds.
TRANSLATION_TOKENIZER_PARAMS = (
    integer(
        "src_vocab_size", None, "source sentencepiece vocabulary size", low=8, high=MAX_VOCAB_SIZE
    ),
    integer(
        "tgt_vocab_size", None, "target sentencepiece vocabulary size", low=8, high=MAX_VOCAB_SIZE
    ),
)


@dataclass
class TranslationSplits:
    """Encoded splits with the raw dev/test references that BLEU is computed against."""

    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    train: ParallelDataset  # length-filtered
    dev: ParallelDataset  # never filtered
    dev_references: list[str]
    test: ParallelDataset | None
    test_references: list[str] | None


def filter_by_length(
    src_ids: list[list[int]], tgt_ids: list[list[int]], max_tokens: int, max_ratio: float
) -> list[int]:
    """Positions of the pairs whose sides are at most ``max_tokens`` long and whose lengths
    differ by at most ``max_ratio`` times (for training data only).

    Example:
        >>> filter_by_length([[1], [1] * 9, [1] * 3], [[1, 1], [1], [1] * 3], 8, 3.0)
        [0, 2]
    """
    kept = []
    for i, (src, tgt) in enumerate(zip(src_ids, tgt_ids, strict=True)):
        longer, shorter = max(len(src), len(tgt)), max(1, min(len(src), len(tgt)))
        if longer <= max_tokens and longer / shorter <= max_ratio:
            kept.append(i)
    return kept


class PreparedTranslationData:
    """A corpus and its encodings, cached by the two vocabulary sizes (a study may search them).

    Example:
        .. code-block:: python

            data = PreparedTranslationData(corpus, config.tokenizer, config.translation, cache)
            splits = data.encoded(src_vocab_size=800, tgt_vocab_size=800)
    """

    def __init__(
        self, corpus: TranslationCorpus, tokenizer_config, translation_config, cache_dir: Path
    ):
        self.corpus = corpus
        self.tokenizer_config = tokenizer_config
        self.translation_config = translation_config
        self.cache_dir = cache_dir
        self._encoded: dict[tuple[int, int], TranslationSplits] = {}

    def vocab_sizes(
        self, src_vocab_size: int | None = None, tgt_vocab_size: int | None = None
    ) -> tuple[int, int]:
        config = self.tokenizer_config
        src = src_vocab_size or config.src_vocab_size or config.vocab_size
        tgt = tgt_vocab_size or config.tgt_vocab_size or config.vocab_size
        return int(src), int(tgt)

    def encoded(
        self, src_vocab_size: int | None = None, tgt_vocab_size: int | None = None
    ) -> TranslationSplits:
        key = self.vocab_sizes(src_vocab_size, tgt_vocab_size)
        if key not in self._encoded:
            self._encoded[key] = self._encode(*key)
        return self._encoded[key]

    def _tokenizer(self, texts: list[str], vocab_size: int, *, target: bool) -> Tokenizer:
        config = self.tokenizer_config
        model_path = train_sentencepiece(
            texts,
            self.cache_dir,
            vocab_size=vocab_size,
            model_type=config.model_type,
            character_coverage=config.character_coverage,
            # The target side keeps its text as written: decoded output is scored against
            # raw references, and a reference with "！" or "Ａ" must be reachable. The
            # source may be NFKC-normalized (the config refuses lowercase for translation).
            normalization="identity" if target else "nmt_nfkc",
        )
        return Tokenizer(model_path, max_length=config.max_length)

    def _encode(self, src_vocab_size: int, tgt_vocab_size: int) -> TranslationSplits:
        corpus = self.corpus
        # One model per language, trained on the train split only.
        src_tok = self._tokenizer(corpus.train.src, src_vocab_size, target=False)
        tgt_tok = self._tokenizer(corpus.train.tgt, tgt_vocab_size, target=True)
        src_ids, tgt_ids = src_tok.encode(corpus.train.src), tgt_tok.encode(corpus.train.tgt)
        limits = self.translation_config
        kept = filter_by_length(src_ids, tgt_ids, limits.max_tokens, limits.max_ratio)
        train = ParallelDataset([src_ids[i] for i in kept], [tgt_ids[i] for i in kept])

        def encode(split) -> ParallelDataset:
            return ParallelDataset(src_tok.encode(split.src), tgt_tok.encode(split.tgt))

        test = corpus.test
        return TranslationSplits(
            src_tok,
            tgt_tok,
            train,
            encode(corpus.dev),
            list(corpus.dev.tgt),
            encode(test) if test is not None else None,
            list(test.tgt) if test is not None else None,
        )
