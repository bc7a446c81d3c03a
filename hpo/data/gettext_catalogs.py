"""Real English -> X sentence pairs from the gettext catalogs installed on most Linux systems.

``/usr/share/locale/<lang>/LC_MESSAGES/*.mo`` hold the translated messages of the installed
programs: tens of thousands of real, human-translated pairs, available offline.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

DEFAULT_LOCALE_DIR = Path("/usr/share/locale")

# Messages that are format strings, markup or option tables make poor sentences.
_NOISE = re.compile(r"%|\$\{|<[a-z/]|\\|\{\d*\}|^-|--|\t|_[A-Z]")


def _clean(text: str) -> str:
    return " ".join(text.replace("&", "").replace("_", " ").split())


def _read_catalog(path: Path) -> dict[str | tuple[str, int], str]:
    """Every message of one ``.mo`` file, keyed by its msgid (or (msgid, n) for plural forms)."""
    with path.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    # gettext offers no public way to list a catalog; typeshed leaves out the private table.
    return translations._catalog  # type: ignore[attr-defined]


def message_pairs(
    language: str,
    locale_dir: Path = DEFAULT_LOCALE_DIR,
    *,
    min_words: int = 2,
    max_words: int = 40,
) -> list[tuple[str, str]]:
    """Distinct (English, translation) pairs from every readable catalog of ``language``.

    Catalogs that cannot be parsed are skipped; pairs come sorted for reproducibility.
    """
    pairs: set[tuple[str, str]] = set()
    for path in sorted((locale_dir / language / "LC_MESSAGES").glob("*.mo")):
        try:
            pairs.update(
                domain_pairs(
                    path.stem, language, locale_dir, min_words=min_words, max_words=max_words
                )
            )
        except (OSError, UnicodeDecodeError, ValueError):
            continue
    return sorted(pairs)


def domain_pairs(
    domain: str,
    language: str = "de",
    locale_dir: Path = DEFAULT_LOCALE_DIR,
    *,
    min_words: int = 2,
    max_words: int = 40,
) -> list[tuple[str, str]]:
    """The distinct (English, translation) pairs of one program's catalog, sorted.

    Raises ``OSError`` (or ``ValueError``, ``UnicodeDecodeError``) where the catalog is
    missing or cannot be parsed.
    """
    catalog = _read_catalog(locale_dir / language / "LC_MESSAGES" / f"{domain}.mo")
    pairs: set[tuple[str, str]] = set()
    for source, target in catalog.items():
        if not isinstance(source, str) or not source or not target:
            continue
        source = source.rpartition("\x04")[2]  # drop a message context
        if _NOISE.search(source) or _NOISE.search(target) or "\n" in source + target:
            continue
        source, target = _clean(source), _clean(target)
        if source == target or not min_words <= len(source.split()) <= max_words:
            continue
        pairs.add((source, target))
    return sorted(pairs)


def domain_messages(
    domain: str,
    language: str = "de",
    locale_dir: Path = DEFAULT_LOCALE_DIR,
    *,
    min_words: int = 3,
    max_words: int = 40,
) -> list[str]:
    """The distinct English messages of one program's catalog (``git``, ``coreutils``), sorted."""
    path = locale_dir / language / "LC_MESSAGES" / f"{domain}.mo"
    catalog = _read_catalog(path)
    messages = set()
    for source in catalog:
        if not isinstance(source, str) or not source:
            continue
        source = source.rpartition("\x04")[2]
        if _NOISE.search(source) or "\n" in source:
            continue
        source = _clean(source)
        if min_words <= len(source.split()) <= max_words:
            messages.add(source)
    return sorted(messages)
