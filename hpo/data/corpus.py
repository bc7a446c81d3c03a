"""In-memory labelled corpora, independent of where they were read from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hpo.errors import BadInput


@dataclass
class LabelledTexts:
    """Parallel lists of texts and their label names."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    # The lines of rows left out because their text was empty (read from a file).
    skipped_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class ClassificationCorpus:
    """Train, dev and (optionally) test splits with the label set taken from train."""

    train: LabelledTexts
    dev: LabelledTexts
    test: LabelledTexts | None
    source: str
    # What a user should know of how the corpus was read (rows left out), one line each.
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not len(self.train):
            raise BadInput(f"{self.source}: the train split is empty")
        if not len(self.dev):
            raise BadInput(f"{self.source}: the dev split is empty")
        self.label_names = label_order(self.train.labels)
        if len(self.label_names) < 2:
            raise BadInput(f"{self.source}: train has only one label {self.label_names}")
        known = set(self.label_names)
        for split_name, split in (("dev", self.dev), ("test", self.test)):
            if split is None:
                continue
            unseen = sorted(set(split.labels) - known)
            if unseen:
                shown = ", ".join(map(repr, unseen[:5]))
                raise BadInput(
                    f"{self.source}: label {shown} in {split_name} does not occur in train"
                )

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def label_ids(self, split: LabelledTexts) -> list[int]:
        index = {name: i for i, name in enumerate(self.label_names)}
        return [index[label] for label in split.labels]


def label_order(labels: Iterable[str]) -> list[str]:
    """The distinct labels in the order of their class ids: by number where every label is
    an integer (a 14-class corpus labelled 1 to 14 lists 2 before 10), alphabetically
    otherwise.

    Example:
        >>> label_order(["10", "2", "1", "2"]), label_order(["sports", "arts", "10"])
        (['1', '2', '10'], ['10', 'arts', 'sports'])
    """
    names = set(labels)
    try:
        return sorted(names, key=lambda name: (int(name), name))
    except ValueError:
        return sorted(names)


def skipped_note(path: object, lines: list[int], what: str) -> list[str]:
    """A note on the rows of ``path`` left out while reading it (at ``lines``), as a list of
    one line; empty where none was.

    Example:
        >>> skipped_note("train.tsv", [4, 9, 17, 20, 31, 40], "row(s) with an empty text")
        ['note: train.tsv: 6 row(s) with an empty text left out (lines 4, 9, 17, 20, 31, ...)']
        >>> skipped_note("train.tsv", [], "row(s) with an empty text")
        []
    """
    if not lines:
        return []
    shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
    where = f"line {shown}" if len(lines) == 1 else f"lines {shown}"
    return [f"note: {path}: {len(lines)} {what} left out ({where})"]
