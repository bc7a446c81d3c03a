"""Corpora on the Hugging Face hub: where each one lives, and reading one split of it.

Only data files are read (parquet or JSON lines), never a dataset script: ``datasets`` 4.0
and later run no scripts at all, and older releases would run code from the hub. IWSLT2017
is a script dataset, so it is read from the parquet conversion that the hub keeps on the
revision ``refs/convert/parquet`` (one folder per language pair, then one per split).

Setting ``HPO_HUB_DIR`` reads the same files from a local folder in the hub's own layout
(``$HPO_HUB_DIR/<owner>/<name>/...``, e.g. a ``huggingface-cli download`` of each repository),
through the same function: for machines that never go online.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo.errors import BadInput, DataUnavailable

HUB_DIR_ENV = "HPO_HUB_DIR"
_SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class HubDataset:
    """Where a corpus lies on the hub and which file holds each split.

    Patterns are relative to the repository's root at ``revision``; ``{config}`` stands for
    the configuration folder (IWSLT2017's language pair).
    """

    repo: str
    files: dict[str, str]
    revision: str | None = None
    label_names: tuple[str, ...] = ()
    configs: frozenset[str] = field(default_factory=frozenset)


def _iwslt2017_configs() -> frozenset[str]:
    # TED talks: English with each of six languages, both ways, and the multilingual
    # task's four languages in every direction; 24 configurations in all.
    pairs = {(lang, other) for lang in ("ar", "de", "fr", "ja", "ko", "zh") for other in ("en",)}
    pairs |= {(a, b) for a in ("en", "it", "nl", "ro") for b in ("en", "it", "nl", "ro") if a != b}
    pairs |= {(b, a) for a, b in pairs}
    return frozenset(f"iwslt2017-{a}-{b}" for a, b in pairs)


HUB_DATASETS: dict[str, HubDataset] = {
    "ag_news": HubDataset(
        "fancyzhx/ag_news",
        {"train": "data/train-*.parquet", "test": "data/test-*.parquet"},
        label_names=("World", "Sports", "Business", "Sci/Tech"),
    ),
    "imdb": HubDataset(
        "stanfordnlp/imdb",
        {"train": "plain_text/train-*.parquet", "test": "plain_text/test-*.parquet"},
        label_names=("neg", "pos"),
    ),
    "iwslt2017": HubDataset(
        "IWSLT/iwslt2017",
        {split: f"{{config}}/{split}/*.parquet" for split in _SPLITS},
        revision="refs/convert/parquet",
        configs=_iwslt2017_configs(),
    ),
    "multi30k": HubDataset(
        "bentrevett/multi30k",
        {"train": "train.jsonl", "validation": "val.jsonl", "test": "test.jsonl"},
    ),
}


def iwslt2017_config(src_lang: str, tgt_lang: str) -> str:
    """The IWSLT2017 configuration of a language pair; bad input if the hub has none.

    Example:
        >>> iwslt2017_config("ja", "en")
        'iwslt2017-ja-en'
    """
    name = f"iwslt2017-{src_lang}-{tgt_lang}"
    if name not in HUB_DATASETS["iwslt2017"].configs:
        pairs = sorted(c.removeprefix("iwslt2017-") for c in HUB_DATASETS["iwslt2017"].configs)
        raise BadInput(f"IWSLT2017 has no {src_lang}-{tgt_lang} pair; it has {', '.join(pairs)}")
    return name


def hub_location(dataset: str) -> tuple[str, str | None]:
    """The path ``datasets`` reads ``dataset`` from, and the revision (none for a local copy)."""
    spec = HUB_DATASETS[dataset]
    root = os.environ.get(HUB_DIR_ENV)
    if not root:
        return spec.repo, spec.revision
    local = Path(root) / spec.repo
    if not local.is_dir():
        raise DataUnavailable(
            f"dataset {dataset!r}: {HUB_DIR_ENV}={root} has no folder {spec.repo}"
        )
    return str(local), None


def local_config(dataset: str, config: str) -> str:
    """``config``, or its reverse pair where only that folder is in the local copy.

    Both directions of an IWSLT2017 pair hold the same sentence pairs, so a local copy of
    one serves ``ja->en`` and ``en->ja`` alike.
    """
    root = os.environ.get(HUB_DIR_ENV)
    if not root or dataset != "iwslt2017":
        return config
    folder = Path(root) / HUB_DATASETS[dataset].repo
    prefix, src, tgt = config.rsplit("-", 2)
    reverse = f"{prefix}-{tgt}-{src}"
    if not (folder / config).is_dir() and (folder / reverse).is_dir():
        return reverse
    return config


def has_split(dataset: str, split: str) -> bool:
    """Whether the hub layout of ``dataset`` names a file for ``split``."""
    return split in HUB_DATASETS[dataset].files


def load_split(dataset: str, split: str, config: str | None = None) -> Any:
    """One split of a hub corpus as a ``datasets.Dataset``, read from its data files only.

    Every failure is one line naming the dataset and the cause: ``datasets`` not installed,
    the hub out of reach (no network and no cached copy), or no file for the split.

    Example:
        .. code-block:: python

            rows = load_split("iwslt2017", "validation", "iwslt2017-ja-en")
            print(rows[0]["translation"]["en"])
    """
    spec = HUB_DATASETS[dataset]
    try:
        import datasets
    except ImportError:
        raise DataUnavailable(
            f"dataset {dataset!r} needs the 'datasets' package: pip install 'hpo[huggingface]'"
        ) from None
    if not sys.stderr.isatty():
        # Progress bars make sense on a terminal; in a log or a pipe they are noise.
        disable = getattr(datasets, "disable_progress_bars", None) or getattr(
            datasets, "disable_progress_bar", None
        )
        if disable is not None:
            disable()
    path, revision = hub_location(dataset)
    pattern = spec.files[split].format(config=config)
    where = spec.repo + (f"@{revision}" if revision else "") if path == spec.repo else path
    try:
        return datasets.load_dataset(
            path, data_files={split: pattern}, split=split, revision=revision
        )
    except FileNotFoundError:
        # Also what datasets raises when no data file matches the split's pattern.
        raise DataUnavailable(
            f"dataset {dataset!r} ({where}) has no {split} split: no file matches {pattern}"
        ) from None
    except ConnectionError as exc:
        offline = any(os.environ.get(v) for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
        cause = (
            "offline mode is set (HF_HUB_OFFLINE) and no copy is cached"
            if offline
            else f"the hub cannot be reached ({_first_line(exc)}) and no copy is cached"
        )
        raise DataUnavailable(
            f"dataset {dataset!r} ({spec.repo}): {cause}; load it once online, "
            f"or point {HUB_DIR_ENV} at a local copy in the hub's layout"
        ) from None
    except Exception as exc:  # a corrupt file, an unexpected hub answer: still one line
        raise DataUnavailable(
            f"dataset {dataset!r} ({where}): cannot read the {split} split: {_first_line(exc)}"
        ) from None


def column(rows: Any, name: str) -> list[Any]:
    """One column of a ``datasets.Dataset`` as a plain list, with every ``datasets`` release."""
    if name not in rows.column_names:
        raise DataUnavailable(f"hub data has no column {name!r} (columns: {rows.column_names})")
    return list(rows[name])


def label_names(dataset: str, rows: Any, label_column: str) -> list[str] | None:
    """The class names of integer labels: the files' own, else the dataset's known ones."""
    feature = rows.features.get(label_column)
    names = getattr(feature, "names", None)
    if names:
        return list(names)
    return list(HUB_DATASETS[dataset].label_names) or None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
