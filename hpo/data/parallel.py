"""Parallel (source, target) sentence corpora and the readers of their files.

Two file layouts are read: JoeyNMT's plain files, one sentence per line, named by a prefix
and the language code (``data/train.ja`` + ``data/train.en``), and TSV files with the
source sentence in the first column and the target in the second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from hpo.data.files import read_quoted_tsv
from hpo.errors import BadInput


@dataclass
class ParallelTexts:
    """Source sentences and their translations, aligned by position."""

    src: list[str] = field(default_factory=list)
    tgt: list[str] = field(default_factory=list)
    # The lines of pairs left out because one side was blank (read from files).
    skipped_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.src)


@dataclass
class TranslationCorpus:
    """Train, dev and (optionally) test splits of one language pair.

    Example:
        >>> pairs = ParallelTexts(["Hallo"], ["Hello"])
        >>> TranslationCorpus(pairs, pairs, None, "toy", "de", "en").src_lang
        'de'
    """

    train: ParallelTexts
    dev: ParallelTexts
    test: ParallelTexts | None
    source: str
    src_lang: str
    tgt_lang: str
    # What a user should know of how the corpus was read (pairs left out), one line each.
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not len(self.train):
            raise BadInput(f"{self.source}: the train split is empty")
        if not len(self.dev):
            raise BadInput(f"{self.source}: the dev split is empty")


def _read_lines(path: Path, strip: bool = True) -> list[str]:
    """The lines of ``path`` without their ends (stripped of spaces unless ``strip`` is
    False: a TSV line's tab before an empty target is a cell), blank ones at the end
    left out."""
    if not path.is_file():
        raise BadInput(f"data file {path} does not exist")
    try:
        with path.open(encoding="utf-8-sig", newline="\n") as handle:
            # Only "\n" ends a line: a stray "\r" or U+2028 inside a sentence must not
            # shift every later line against its translation.
            lines = [line.rstrip("\n").removesuffix("\r") for line in handle]
        if strip:
            lines = [line.strip() for line in lines]
        while lines and not lines[-1].strip():
            lines.pop()  # blank lines at the end pair with nothing
        return lines
    except UnicodeDecodeError:
        raise BadInput(f"data file {path} is not UTF-8 text") from None


def read_parallel_text(prefix: Path, src_lang: str, tgt_lang: str) -> ParallelTexts:
    """Read ``PREFIX.SRC`` and ``PREFIX.TGT``: line i of one translates line i of the other.

    Pairs where either side is blank are left out (their lines in ``skipped_lines`` where
    only one is: a blank line in both is a separator). Files of different lengths (blank
    lines at their ends aside) are refused.

    Example:
        .. code-block:: python

            train = read_parallel_text(Path("data/train"), "ja", "en")  # train.ja, train.en
    """
    src_path = prefix.with_name(f"{prefix.name}.{src_lang}")
    tgt_path = prefix.with_name(f"{prefix.name}.{tgt_lang}")
    if prefix.suffix in (f".{src_lang}", f".{tgt_lang}") and not src_path.is_file():
        stem = prefix.with_suffix("")
        raise BadInput(
            f"data file {src_path} does not exist: with format text, name the files' common "
            f"prefix ({stem} for {stem}.{src_lang} and {stem}.{tgt_lang})"
        )
    src, tgt = _read_lines(src_path), _read_lines(tgt_path)
    if len(src) != len(tgt):
        raise BadInput(
            f"parallel files differ in length: {src_path} has {len(src)} lines, "
            f"{tgt_path} has {len(tgt)}"
        )
    pairs = ParallelTexts()
    for line_no, (s, t) in enumerate(zip(src, tgt, strict=True), start=1):
        _add(pairs, s, t, line_no)
    return pairs


def _add(pairs: ParallelTexts, src: str, tgt: str, line_no: int) -> None:
    """Append a pair unless a side is blank (noted where only one is)."""
    if src and tgt:
        pairs.src.append(src)
        pairs.tgt.append(tgt)
    elif src or tgt:
        pairs.skipped_lines.append(line_no)


def read_tsv_pairs(path: Path, header: bool = False) -> ParallelTexts:
    """Read a TSV file of ``source<TAB>target`` lines (a first header line skipped if asked).

    Read with CSV's quoting first, as pandas writes a TSV file (a sentence holding a quote is
    quoted, its quotes doubled); line by line where that fails, as for a file written
    without quoting, whose quotes are characters.
    """
    quoted = read_quoted_tsv(path, header)
    if quoted is not None and all(len(columns) == 2 for _, _, columns in quoted):
        pairs = ParallelTexts()
        for line_no, row, columns in quoted:
            src, tgt = (row[column].strip() for column in columns)
            _add(pairs, src, tgt, line_no)
        return pairs
    lines = _read_lines(path, strip=False)
    if header:
        lines = lines[1:]
    pairs = ParallelTexts()
    start = 2 if header else 1
    for line_no, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            raise BadInput(f"{path}:{line_no}: expected 2 tab-separated columns, got {len(cells)}")
        _add(pairs, cells[0].strip(), cells[1].strip(), line_no)
    return pairs


def split_pairs(
    pairs: ParallelTexts, train: float, dev: float, seed: int
) -> tuple[ParallelTexts, ParallelTexts, ParallelTexts]:
    """Shuffle with ``seed`` and cut into train/dev/test by ratio (test takes the rest).

    All translations of one source sentence go to the same split: a source seen in
    training with one translation must not be scored in dev or test with another. The
    splits get their share of pairs as nearly as these groups allow (exactly, when every
    source occurs once).

    Example:
        >>> pairs = ParallelTexts(["a", "a", "b", "c"], ["x", "y", "z", "w"])
        >>> [sorted(part.src) for part in split_pairs(pairs, 0.5, 0.25, seed=0)]
        [['a', 'a'], ['c'], ['b']]
    """
    by_source: dict[str, list[int]] = {}
    for i, source in enumerate(pairs.src):
        by_source.setdefault(source, []).append(i)
    groups = list(by_source.values())
    random.Random(seed).shuffle(groups)
    n_train = int(round(train * len(pairs)))
    n_dev = int(round(dev * len(pairs)))
    targets = (n_train, n_dev, len(pairs) - n_train - n_dev)
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for group in groups:
        room = [target - len(part) for target, part in zip(targets, parts, strict=True)]
        fitting = [k for k in range(3) if room[k] >= len(group)]
        # The first split with room, so a corpus of distinct sources is cut in shuffled order.
        chosen = fitting[0] if fitting else room.index(max(room))
        parts[chosen].extend(group)

    def texts(part: list[int]) -> ParallelTexts:
        return ParallelTexts([pairs.src[i] for i in part], [pairs.tgt[i] for i in part])

    return texts(parts[0]), texts(parts[1]), texts(parts[2])
