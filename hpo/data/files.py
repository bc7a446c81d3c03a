"""Readers for labelled text in TSV, CSV and JSONL files.

Files are UTF-8, with or without the byte-order mark that Excel and Notepad write. A row
whose cells do not match the header in number is refused with its line: a tab inside a TSV
text or an unquoted comma in a CSV one would otherwise shift a fragment of text into the
label column, and a corpus with made-up classes would train without a word. Rows with an
empty text are left out (``hpo optimize`` prints how many, and where); an empty label is
refused.

A TSV file is read as pandas reads one (``read_csv(sep="\\t")``, and as pandas and Python's
``csv`` write one): a cell that holds a quote, a tab or a line break is quoted, its quotes
doubled. Many TSV files are written without any quoting, where a quote is a character like
any other (``5" screen``, a text that opens with a quotation): where reading the quotes
fails (a closing quote not at the end of its cell, or rows that no longer match the
header), the file is read without them. Where both readings succeed the quoted one is
taken, as pandas takes it: an unquoted file's text ``"Cancel"`` loses its quotes, and a
text that opens with a quote it never closes runs on to the next text that ends with one.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from pathlib import Path

from hpo.data.corpus import ClassificationCorpus, LabelledTexts, skipped_note
from hpo.errors import BadInput

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def infer_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("tsv", "csv", "jsonl"):
        return suffix
    if suffix == "json":
        return "jsonl"
    raise BadInput(f"{path}: cannot tell the format from the extension; set data.format")


def read_labelled_file(
    path: Path,
    *,
    text_column: str,
    label_column: str,
    file_format: str | None = None,
    header: bool = True,
) -> LabelledTexts:
    """Read one file of labelled texts; every problem is a :class:`BadInput` naming the file."""
    if path.is_dir():
        raise BadInput(f"data file {path} is a folder, not a file")
    if not path.is_file():
        raise BadInput(f"data file {path} does not exist")
    fmt = infer_format(path, file_format)
    texts: list[str] = []
    labels: list[str] = []
    skipped: list[int] = []
    try:
        rows = _read_jsonl(path) if fmt == "jsonl" else _read_delimited(path, fmt, header)
        for line_no, row, columns in rows:
            for column in (text_column, label_column):
                if column not in columns:
                    found = ", ".join(map(str, columns)) or "none"
                    hint = "" if header else "; without a header they are numbered from 0"
                    raise BadInput(f"{path}: no column {column!r} (columns found: {found}{hint})")
                if column not in row:
                    raise BadInput(f"{path}:{line_no}: no value in column {column!r}")
            text = _cell(row[text_column], path, line_no, text_column)
            label = _cell(row[label_column], path, line_no, label_column)
            if not label:
                raise BadInput(f"{path}:{line_no}: empty label in column {label_column!r}")
            if not text:
                skipped.append(line_no)
                continue
            texts.append(text)
            labels.append(label)
    except UnicodeDecodeError:
        raise BadInput(f"data file {path} is not UTF-8 text") from None
    if not texts:
        raise BadInput(f"data file {path} is empty")
    return LabelledTexts(texts, labels, skipped)


EMPTY_TEXT = "row(s) with an empty text"


def _cell(value: object, path: Path, line_no: int, column: str) -> str:
    """A text or label as a stripped string; JSON's 1.0 is the label 1, as in a CSV file."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise BadInput(f"{path}:{line_no}: column {column!r} holds a JSON {type(value).__name__}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


Row = tuple[int, dict, list]  # the line a row starts on, its cells by column, the columns


def _read_delimited(path: Path, fmt: str, header: bool) -> list[Row]:
    content = _content(path)
    quoted = _quoted_tsv(path, content, header) if fmt == "tsv" else None
    if quoted is not None:
        return quoted
    return _rows(path, content, header, tsv=fmt == "tsv", quoted=fmt == "csv")


def read_quoted_tsv(path: Path, header: bool) -> list[Row] | None:
    """The rows of a TSV file read with CSV's quoting, as pandas reads it, each a
    :data:`Row`; None where the file holds no quote (nothing reads differently) or reading
    its quotes fails (a file written without quoting)."""
    return _quoted_tsv(path, _content(path), header)


def _quoted_tsv(path: Path, content: str, header: bool) -> list[Row] | None:
    if '"' not in content:
        return None
    try:
        return _rows(path, content, header, tsv=True, quoted=True)
    except BadInput:
        return None  # a TSV written without quoting, whose quotes are characters


def _content(path: Path) -> str:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return handle.read()


def _rows(path: Path, content: str, header: bool, *, tsv: bool, quoted: bool) -> list[Row]:
    """The rows of a delimited file's ``content``, each a :data:`Row`; a row whose cells do
    not match the header (or the first row) in number is a :class:`BadInput`."""
    separated = "tab-separated" if tsv else "comma-separated"
    reader = csv.reader(
        io.StringIO(content, newline=""),
        delimiter="\t" if tsv else ",",
        quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
        strict=True,
    )
    names: list[str] | None = None
    rows: list[Row] = []
    read = 0
    try:
        for cells in reader:
            # A quoted text may span lines: a row is named by the line it starts on.
            start, read = read + 1, reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if names is None:
                if header:
                    names = [c.strip() for c in cells]
                    while names and not names[-1]:
                        names.pop()  # a trailing separator
                    continue
                names = [str(i) for i in range(len(cells))]
            while len(cells) > len(names) and not cells[-1].strip():
                cells = cells[:-1]  # a trailing separator adds an empty cell, no column
            if len(cells) != len(names):
                hint = "a tab" if tsv else "a comma"
                raise BadInput(
                    f"{path}:{start}: expected {len(names)} {separated} columns as in the "
                    f"{'header' if header else 'first row'}, got {len(cells)} (quote a text "
                    f"that holds {hint}, as Python's csv and pandas write it)"
                )
            rows.append((start, dict(zip(names, cells, strict=True)), names))
    except csv.Error as exc:
        # Reported where the row began: an unbalanced quote reads on past its line.
        kind = "TSV" if tsv else "CSV"
        raise BadInput(f"{path}:{read + 1}: malformed {kind} row: {exc}") from None
    return rows


def _read_jsonl(path: Path):
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{path}:{line_no}: not valid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise BadInput(f"{path}:{line_no}: expected a JSON object per line")
            yield line_no, record, record


def split_by_ratios(
    data: LabelledTexts, train: float, dev: float, seed: int
) -> tuple[LabelledTexts, LabelledTexts, LabelledTexts]:
    """Shuffle with ``seed`` and cut into train/dev/test by ratio (test takes the rest)."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    n_train = int(round(train * len(order)))
    n_dev = int(round(dev * len(order)))

    def part(indices: list[int]) -> LabelledTexts:
        return LabelledTexts([data.texts[i] for i in indices], [data.labels[i] for i in indices])

    return (
        part(order[:n_train]),
        part(order[n_train : n_train + n_dev]),
        part(order[n_train + n_dev :]),
    )


def load_files_corpus(config) -> ClassificationCorpus:
    """Build a corpus from a :class:`hpo.config.FilesData` section."""
    read = dict(
        text_column=config.text_column,
        label_column=config.label_column,
        file_format=config.format,
        header=config.header,
    )
    if config.path is not None:
        everything = read_labelled_file(config.path, **read)
        split = config.split
        train, dev, rest = split_by_ratios(everything, split.train, split.dev, split.seed)
        notes = skipped_note(config.path, everything.skipped_lines, EMPTY_TEXT)
        return ClassificationCorpus(
            train, dev, rest if len(rest) else None, str(config.path), notes
        )
    train = read_labelled_file(config.train, **read)
    dev = read_labelled_file(config.dev, **read)
    test = read_labelled_file(config.test, **read) if config.test is not None else None
    notes = []
    for path, split in ((config.train, train), (config.dev, dev), (config.test, test)):
        if split is not None:
            if split is not train:
                _known_labels(split, path, train, config.train)
            notes += skipped_note(path, split.skipped_lines, EMPTY_TEXT)
    return ClassificationCorpus(train, dev, test, str(config.train.parent), notes)


def _known_labels(split: LabelledTexts, path: Path, train: LabelledTexts, train_path: Path) -> None:
    """Refuse labels of ``split`` (read from ``path``) that the training file never has."""
    unseen = sorted(set(split.labels) - set(train.labels))
    if unseen:
        shown = ", ".join(map(repr, unseen[:5]))
        raise BadInput(f"{path}: label {shown} does not occur in the training file {train_path}")
