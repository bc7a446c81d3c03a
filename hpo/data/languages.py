"""Language codes of translation data, and the BLEU tokenization each target language needs."""

from __future__ import annotations

import functools

# ISO 639-1: the two-letter codes data sets and sentencepiece file names use (train.ja).
ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
    """.split()
)


def check_language_code(code: str) -> str:
    """Return ``code`` if it is an ISO 639-1 language code, else raise ``ValueError``.

    Example:
        >>> check_language_code("ja")
        'ja'
    """
    if code not in ISO_639_1:
        raise ValueError(
            f"unknown language code {code!r}; expected an ISO 639-1 code like en, de, ja"
        )
    return code


# What sacrebleu tokenizes a target language with by default: the first that works here.
# Japanese and Korean text has no spaces, so 13a would score whole sentences as one word;
# MeCab segments them into words, and where MeCab or its dictionary is missing, characters do.
DEFAULT_BLEU_TOKENIZERS = {"zh": ("zh",), "ja": ("ja-mecab", "char"), "ko": ("ko-mecab", "char")}


def bleu_tokenize(target_language: str) -> str:
    """sacrebleu's tokenizer for BLEU on ``target_language``: the first of its defaults
    that tokenizes a sentence on this machine (``ja-mecab`` only with a working MeCab and
    dictionary).

    Example:
        >>> bleu_tokenize("de")
        '13a'
    """
    candidates = DEFAULT_BLEU_TOKENIZERS.get(target_language, ("13a",))
    return next((name for name in candidates if tokenizer_problem(name) is None), "char")


def check_bleu_tokenize(name: str) -> str:
    """Return ``name`` if it is a sacrebleu tokenizer that works here, else raise ``ValueError``.

    Example:
        >>> check_bleu_tokenize("intl")
        'intl'
    """
    from sacrebleu.metrics.bleu import BLEU

    if name not in BLEU.TOKENIZERS:
        known = ", ".join(sorted(BLEU.TOKENIZERS))
        raise ValueError(f"unknown sacrebleu tokenizer {name!r}; known: {known}")
    problem = tokenizer_problem(name)
    if problem is not None:
        raise ValueError(f"sacrebleu tokenizer {name} does not work here: {problem}")
    return name


@functools.cache
def tokenizer_problem(name: str) -> str | None:
    """Why sacrebleu's tokenizer ``name`` cannot score a sentence here, or None if it can.

    Scoring one sentence is the test: MeCab may import while its dictionary is missing.
    """
    from sacrebleu.metrics.bleu import BLEU

    sentence = "東京で「Hello, world!」と言った。"
    try:
        BLEU(tokenize=name).corpus_score([sentence], [[sentence]])
    except Exception as exc:  # sacrebleu raises RuntimeError, AssertionError, ImportError...
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return lines[0] if lines else type(exc).__name__
    return None
