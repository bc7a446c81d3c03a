"""Tokenized, encoded splits, made once per process and vocabulary size, reused by trials."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hpo.config import MAX_VOCAB_SIZE
from hpo.data.batching import EncodedDataset
from hpo.data.corpus import ClassificationCorpus
from hpo.data.tokenizer import Tokenizer, train_sentencepiece
from hpo.params import integer

# A space may search the vocabulary size; unset, the study's tokenizer.vocab_size holds.
TOKENIZER_PARAMS = (
    integer(
        "vocab_size",
        None,
        "sentencepiece vocabulary size (tokenizer.vocab_size)",
        low=8,
        high=MAX_VOCAB_SIZE,
    ),
)


@dataclass
class EncodedSplits:
    tokenizer: Tokenizer
    train: EncodedDataset
    dev: EncodedDataset
    test: EncodedDataset | None
    corpus: ClassificationCorpus  # the texts and label names the encodings came from

    @property
    def num_classes(self) -> int:
        return self.corpus.num_classes


class PreparedClassificationData:
    """A corpus and its encodings, cached by vocabulary size (which a study may search)."""

    def __init__(self, corpus: ClassificationCorpus, tokenizer_config, cache_dir: Path):
        self.corpus = corpus
        self.tokenizer_config = tokenizer_config
        self.cache_dir = cache_dir
        self._encoded: dict[int, EncodedSplits] = {}

    def encoded(self, vocab_size: int | None = None) -> EncodedSplits:
        vocab_size = int(vocab_size or self.tokenizer_config.vocab_size)
        if vocab_size not in self._encoded:
            self._encoded[vocab_size] = self._encode(vocab_size)
        return self._encoded[vocab_size]

    def _encode(self, vocab_size: int) -> EncodedSplits:
        config = self.tokenizer_config
        model_path = train_sentencepiece(
            self.corpus.train.texts,
            self.cache_dir,
            vocab_size=vocab_size,
            model_type=config.model_type,
            character_coverage=config.character_coverage,
            lowercase=config.lowercase,
        )
        tokenizer = Tokenizer(model_path, max_length=config.max_length)
        corpus = self.corpus

        def encode(split):
            return EncodedDataset(tokenizer.encode(split.texts), corpus.label_ids(split))

        test = encode(corpus.test) if corpus.test is not None else None
        return EncodedSplits(tokenizer, encode(corpus.train), encode(corpus.dev), test, corpus)
