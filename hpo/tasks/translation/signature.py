"""One way of computing BLEU per study: its sacrebleu signature is stored with the study, and a
worker that would compute BLEU another way (another tokenizer, MeCab or its dictionary
missing, another sacrebleu version) refuses to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpo.data.languages import bleu_tokenize

if TYPE_CHECKING:
    from hpo.config import StudyConfig

SIGNATURE_ATTR = "sacrebleu_signature"


def study_bleu_tokenize(config: StudyConfig) -> str:
    """The sacrebleu tokenizer of the study: the configured one, or the target language's."""
    return config.translation.bleu_tokenize or bleu_tokenize(config.language_pair()[1])


def bleu_signature(tokenize: str) -> str:
    """sacrebleu's BLEU signature for one reference per sentence and ``tokenize``.

    Example:
        >>> bleu_signature("13a").split("|")[:4]
        ['nrefs:1', 'case:mixed', 'eff:no', 'tok:13a']
    """
    from sacrebleu.metrics import BLEU

    metric = BLEU(tokenize=tokenize)
    # sacrebleu signs a metric only once it has scored something.
    metric.corpus_score(["."], [["."]])
    return str(metric.get_signature())
