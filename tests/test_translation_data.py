"""Translation data as BLEU sees it: the target side survives tokenization unchanged, and a
source sentence is never in two splits."""

from __future__ import annotations

import array
import struct
from pathlib import Path

import pytest
import yaml

from hpo.cli import main
from hpo.config import TokenizerConfig, TranslationConfig, load_study_config
from hpo.data.languages import bleu_tokenize
from hpo.data.parallel import ParallelTexts, TranslationCorpus
from hpo.data.parallel_sources import load_translation_corpus
from hpo.data.prepare_translation import PreparedTranslationData
from hpo.training.metrics import corpus_bleu

# Targets as people write them: full-width punctuation, digits and letters, mixed case.
JAPANESE = [
    "「ファイル」を開く。",
    "すべてのファイルを保存しますか？",
    "バージョン２．１に更新しました！",
    "ＧｉｔＨｕｂとGitLabの、URLです。",
    "ＯＫを押してください（Ｃａｎｃｅｌで戻る）。",
    "残り１０分です、Ｍr. Smith。",
]
ENGLISH = [
    "Open the File「readme」now!",
    "Save ALL changes？",
    "Version ２.１ of GitHub is out！",
    "Press ＯＫ or Cancel, Mr. Smith.",
    "The URL is ＷＷＷ.example.ORG.",
    "No, I'd rather NOT.",
]


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A compiled gettext catalog (the GNU .mo format) of ``messages``."""
    catalog = {"": "Content-Type: text/plain; charset=UTF-8\n", **messages}
    keys = sorted(k.encode() for k in catalog)
    values = [catalog[k.decode()].encode() for k in keys]
    ids = strs = b""
    offsets = []
    for key, value in zip(keys, values, strict=True):
        offsets.append((len(ids), len(key), len(strs), len(value)))
        ids += key + b"\0"
        strs += value + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    table = [n for o, k, _, _ in offsets for n in (k, o + key_start)]
    table += [n for _, _, o, v in offsets for n in (v, o + value_start)]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.array("i", table).tobytes() + ids + strs)


def study_file(directory: Path, data: dict, **fields) -> str:
    study = {
        "name": "t",
        "task": "translation",
        "data": data,
        "tokenizer": {"vocab_size": 60},
        "search_space": {"params": {"cell": "gru", "hidden_size": 16, "embedding_dim": 8}},
        **fields,
    }
    path = directory / "t.yaml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True))
    return str(path)


def test_one_source_with_two_translations_stays_in_one_split(tmp_path):
    # Two programs translate the same messages differently, as real catalogs do.
    messages = {f"Open the file number {i}": f"Datei Nummer {i} öffnen" for i in range(120)}
    write_mo(tmp_path / "locale/de/LC_MESSAGES/editor.mo", messages)
    write_mo(
        tmp_path / "locale/de/LC_MESSAGES/viewer.mo",
        {en: de.replace("öffnen", "aufmachen") for en, de in list(messages.items())[:60]},
    )
    data = {"source": "gettext", "src_lang": "en", "tgt_lang": "de", "max_words": 8}
    data["locale_dir"] = str(tmp_path / "locale")
    corpus = load_translation_corpus(load_study_config(study_file(tmp_path, data)).data)

    splits = [set(corpus.train.src), set(corpus.dev.src), set(corpus.test.src)]
    assert not splits[0] & splits[1] and not splits[0] & splits[2] and not splits[1] & splits[2]
    assert len(corpus.train) + len(corpus.dev) + len(corpus.test) == 180
    assert abs(len(corpus.train) - 144) <= 1 and abs(len(corpus.dev) - 18) <= 1


@pytest.mark.parametrize("tgt_lang, references", [("ja", JAPANESE), ("en", ENGLISH)])
def test_a_model_that_outputs_each_reference_exactly_scores_100_bleu(
    tmp_path, tgt_lang, references
):
    sources = [f"source sentence {i}" for i in range(len(references))]
    pairs = ParallelTexts(sources * 4, references * 4)
    corpus = TranslationCorpus(pairs, pairs, None, "toy", "de", tgt_lang)
    splits = PreparedTranslationData(
        corpus, TokenizerConfig(vocab_size=100), TranslationConfig(), tmp_path
    ).encoded()

    # The perfect model: its output ids are the reference's own target ids.
    hypotheses = splits.tgt_tokenizer.decode(splits.dev.tgt_ids)
    assert hypotheses == splits.dev_references
    bleu = corpus_bleu(hypotheses, splits.dev_references, tokenize=bleu_tokenize(tgt_lang))
    assert bleu.value == pytest.approx(100) and "case:mixed" in bleu.signature


def test_lowercasing_a_translation_study_is_refused(tmp_path, capsys):
    data = {"source": "parallel", "train": "train", "dev": "dev", "src_lang": "en"}
    path = study_file(tmp_path, {**data, "tgt_lang": "de"}, tokenizer={"lowercase": True})
    assert main(["optimize", "--study", path, "--n-trials", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tokenizer.lowercase" in err[0], err
