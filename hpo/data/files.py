"""Readers for labelled text in TSV, CSV and JSONL files."""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

from hpo.data.corpus import ClassificationCorpus, LabelledTexts
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
    if not path.is_file():
        raise BadInput(f"data file {path} does not exist")
    fmt = infer_format(path, file_format)
    rows = _read_jsonl(path) if fmt == "jsonl" else _read_delimited(path, fmt, header)
    texts: list[str] = []
    labels: list[str] = []
    try:
        for line_no, row, columns in rows:
            for column in (text_column, label_column):
                if column not in columns:
                    found = ", ".join(map(str, columns)) or "none"
                    raise BadInput(f"{path}: no column {column!r} (columns found: {found})")
                if column not in row:
                    raise BadInput(f"{path}:{line_no}: no value in column {column!r}")
            text, label = row[text_column], row[label_column]
            if label is None or str(label).strip() == "":
                raise BadInput(f"{path}:{line_no}: empty label in column {label_column!r}")
            if text is None or str(text).strip() == "":
                continue
            texts.append(str(text).strip())
            labels.append(str(label).strip())
    except UnicodeDecodeError:
        raise BadInput(f"data file {path} is not UTF-8 text") from None
    if not texts:
        raise BadInput(f"data file {path} is empty")
    return LabelledTexts(texts, labels)


def _read_delimited(path: Path, fmt: str, header: bool):
    tsv = fmt == "tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(
            handle,
            delimiter="\t" if tsv else ",",
            quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL,
        )
        names: list[str] | None = None
        for line_no, cells in enumerate(reader, start=1):
            if not cells or all(not c.strip() for c in cells):
                continue
            if names is None:
                if header:
                    names = [c.strip() for c in cells]
                    continue
                names = [str(i) for i in range(len(cells))]
            yield line_no, dict(zip(names, cells, strict=False)), names
        if names is None:
            return


def _read_jsonl(path: Path):
    with path.open(encoding="utf-8") as handle:
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
        return ClassificationCorpus(train, dev, rest if len(rest) else None, str(config.path))
    train = read_labelled_file(config.train, **read)
    dev = read_labelled_file(config.dev, **read)
    test = read_labelled_file(config.test, **read) if config.test is not None else None
    return ClassificationCorpus(train, dev, test, str(config.train.parent))
