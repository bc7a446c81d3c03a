"""The two tasks of ``time_to_quality.py``, built from the gettext catalogs on the machine.

- ``program``: which program a message comes from. Every message of the German catalogs of
  ``/usr/share/locale`` in English and in German (what the program prints in either
  locale), of the programs with at least 100 messages of their own; a text that more than
  one program prints is left out. A message and its translation stay in one split.
- ``translation``: English -> German messages of the same catalogs, hpo's ``gettext``
  source with its defaults (2 to 12 words, 80/10/10 split).

Each is written as a study file that leaves every setting hpo has a default for to that
default: the shipped space (``search_spaces/classifier.yaml``, ``seq2seq.yaml``, start
point included), sampler, pruner, epochs, checkpoints. Only the threads, the device and
the seed are set, the same for every arm.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from hpo.config import load_study_config
from hpo.config_sections import GettextData
from hpo.data.gettext_catalogs import DEFAULT_LOCALE_DIR, domain_pairs
from hpo.data.parallel_sources import load_translation_corpus

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("program", "translation")
LANGUAGE = "de"
MIN_MESSAGES = 100  # a program with fewer messages of its own is left out
SPLIT_SEED = 13  # the data are the same for every seed of the benchmark


def program_groups(
    language: str = LANGUAGE, min_messages: int = MIN_MESSAGES
) -> dict[str, list[list[str]]]:
    """Program -> its messages, each a group: the English text and its translation.

    Texts that more than one program prints are dropped (a message whose English text is
    shared is dropped whole); programs left with fewer than ``min_messages`` go too.
    """
    pairs: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((DEFAULT_LOCALE_DIR / language / "LC_MESSAGES").glob("*.mo")):
        try:
            pairs[path.stem] = domain_pairs(path.stem, language)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
    owners = Counter(text for found in pairs.values() for text in {t for p in found for t in p})
    groups: dict[str, list[list[str]]] = {}
    for program, found in pairs.items():
        by_english: dict[str, list[str]] = {}
        for english, translated in found:
            if owners[english] != 1:
                continue
            group = by_english.setdefault(english, [english])
            if owners[translated] == 1 and translated not in group:
                group.append(translated)
        if len(by_english) >= min_messages:
            groups[program] = list(by_english.values())
    return groups


def write_program_study(directory: Path, seed: int, threads: int, device: str) -> tuple[Path, str]:
    """TSV splits (70/15/15 of the messages) and the study file; the file and a description."""
    groups = program_groups()
    labelled = [(group, program) for program, found in groups.items() for group in found]
    random.Random(SPLIT_SEED).shuffle(labelled)
    n = len(labelled)
    cuts = {
        "train": (0, int(0.7 * n)),
        "dev": (int(0.7 * n), int(0.85 * n)),
        "test": (int(0.85 * n), n),
    }
    sizes = {}
    for split, (begin, end) in cuts.items():
        rows = [(text, program) for group, program in labelled[begin:end] for text in group]
        sizes[split] = len(rows)
        with (directory / f"{split}.tsv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            writer.writerow(["text", "label"])
            writer.writerows((text.replace("\t", " "), program) for text, program in rows)
    study = _study(
        "ttq-program",
        "classification",
        {"source": "files", "train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"},
        "classifier.yaml",
        seed,
        threads,
        device,
    )
    texts = sum(sizes.values())
    demo = _demo_size("demo.yaml", "size")
    description = (
        f"{texts} texts ({n} English messages and their German translations) of "
        f"{len(groups)} programs, {texts / demo:.1f}x the demo's {demo}; train/dev/test "
        f"{sizes['train']}/{sizes['dev']}/{sizes['test']}"
    )
    return _write(directory, study), description


def write_translation_study(
    directory: Path, seed: int, threads: int, device: str
) -> tuple[Path, str]:
    """The study file of the translation task; the file and a description."""
    data = {"source": "gettext", "src_lang": "en", "tgt_lang": LANGUAGE}
    study = _study("ttq-translation", "translation", data, "seq2seq.yaml", seed, threads, device)
    # The corpora as hpo reads them (the gettext source's defaults; the demo's study file), so
    # that the sizes compared are those trained on.
    pairs, words = _corpus_size(GettextData(**data))
    demo_file = ROOT / "studies" / "translation-demo.yaml"
    demo_pairs, demo_words = _corpus_size(load_study_config(str(demo_file)).data)
    description = (
        f"{pairs} English -> German gettext pairs ({words:,} words), "
        f"{pairs / demo_pairs:.1f}x the demo's {demo_pairs} pairs and "
        f"{words / demo_words:.1f}x its {demo_words:,} words"
    )
    return _write(directory, study), description


WRITERS = {"program": write_program_study, "translation": write_translation_study}


def _study(
    name: str, task: str, data: dict, space: str, seed: int, threads: int, device: str
) -> dict:
    return {
        "name": name,
        "task": task,
        "data": data,
        "search_space": str(ROOT / "search_spaces" / space),
        "training": {"device": device, "threads": threads},
        "seed": seed,
    }


def _write(directory: Path, study: dict) -> Path:
    path = directory / f"{study['name']}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


def _corpus_size(data: Any) -> tuple[int, int]:
    """Sentence pairs and words (both sides) of a translation data section, all splits."""
    corpus = load_translation_corpus(data)
    splits = (corpus.train, corpus.dev, corpus.test)
    words = sum(len(text.split()) for p in splits for side in (p.src, p.tgt) for text in side)
    return sum(len(p) for p in splits), words


def _demo_size(study_file: str, field: str) -> int:
    raw = yaml.safe_load((ROOT / "studies" / study_file).read_text(encoding="utf-8"))
    return int(raw["data"][field])
