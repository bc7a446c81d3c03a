"""Language codes of translation data, and the BLEU tokenization each target language needs."""

from __future__ import annotations

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


def bleu_tokenize(target_language: str) -> str:
    """sacrebleu's tokenizer for BLEU on ``target_language``.

    Japanese and Korean are scored per character unless MeCab is installed: their text has
    no spaces, so the default ``13a`` tokenizer would score whole sentences as one word.

    Example:
        >>> bleu_tokenize("de")
        '13a'
    """
    if target_language == "zh":
        return "zh"
    if target_language in ("ja", "ko"):
        module = "MeCab" if target_language == "ja" else "mecab_ko"
        try:
            __import__(module)
        except ImportError:
            return "char"
        return f"{target_language}-mecab"
    return "13a"
