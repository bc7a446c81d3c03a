"""Hugging Face corpora read with the installed ``datasets``, offline, from a local folder in
the hub's own layout (``HPO_HUB_DIR``): the same loader, file patterns and columns that an
online study uses, no dataset script anywhere."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

datasets = pytest.importorskip("datasets")  # a dev dependency: CI fails on any skip

from hpo.config import load_study_config  # noqa: E402
from hpo.data import load_classification_corpus as load_corpus  # noqa: E402
from hpo.data.parallel_sources import load_translation_corpus  # noqa: E402
from tests.conftest import hpo_env, run_hpo, write_study  # noqa: E402

TOPICS = ["World", "Sports", "Business", "Sci/Tech"]
JA_EN = {
    "train": [(f"これは文{i}です。", f"This is sentence {i}.") for i in range(40)],
    "validation": [("こんにちは、世界！", "Hello, World!"), ("ありがとう。", "Thank you.")],
    "test": [("さようなら。", "Goodbye."), ("猫が好きです。", "I like cats.")],
}
EN_DE = {
    "train": [(f"A dog runs {i} times.", f"Ein Hund rennt {i} Mal.") for i in range(30)],
    "val": [("A man sleeps.", "Ein Mann schläft.")],
    "test": [("Two girls sing.", "Zwei Mädchen singen."), ("A cat.", "Eine Katze.")],
}


def write_parquet(path, columns: dict, features=None) -> None:
    """A parquet file as the hub holds it: written by ``datasets`` (features in its metadata),
    or by plain pyarrow (no metadata) when ``features`` is None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if features is None:
        pq.write_table(pa.table(columns), path)
    else:
        datasets.Dataset.from_dict(columns, features=features).to_parquet(str(path))


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A local copy of the four hub repositories, and HPO_HUB_DIR pointing at it."""
    root = tmp_path / "hub"
    news = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=TOPICS)}
    )
    for split, n in (("train", 80), ("test", 8)):
        write_parquet(
            root / f"fancyzhx/ag_news/data/{split}-00000-of-00001.parquet",
            {
                "text": [f"{TOPICS[i % 4]} story {i}" for i in range(n)],
                "label": [0, 1, 2, 3] * (n // 4),
            },
            news,
        )
    for split in ("train", "test", "unsupervised"):
        write_parquet(  # without metadata: labels are bare integers 0 (neg) and 1 (pos)
            root / f"stanfordnlp/imdb/plain_text/{split}-00000-of-00001.parquet",
            {"text": [f"review {i} of {split}" for i in range(20)], "label": [0, 1] * 10},
        )
    for split, pairs in JA_EN.items():
        write_parquet(
            root / f"IWSLT/iwslt2017/iwslt2017-ja-en/{split}/0000.parquet",
            {"translation": [{"ja": ja, "en": en} for ja, en in pairs]},
            datasets.Features({"translation": datasets.Translation(languages=["ja", "en"])}),
        )
    multi30k = root / "bentrevett/multi30k"
    multi30k.mkdir(parents=True)
    for split, pairs in EN_DE.items():
        lines = [json.dumps({"en": en, "de": de}, ensure_ascii=False) for en, de in pairs]
        (multi30k / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("HPO_HUB_DIR", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no cache from elsewhere
    return root


def hub_data(workdir, **data):
    study = write_study(workdir, name="hubdata", data={"source": "huggingface", **data})
    return load_study_config(str(study)).data


def translation_data(workdir, **data):
    fields = {
        "task": "translation",
        "metric": "bleu",
        "data": {"source": "huggingface", **data},
        "search_space": {"params": {"hidden_size": 16}},
    }
    study = write_study(workdir, name=f"hub-{data['src_lang']}-{data['tgt_lang']}", **fields)
    return load_study_config(str(study)).data


def test_ag_news_labels_come_from_the_files_class_names(hub, workdir):
    corpus = load_corpus(hub_data(workdir, dataset="ag_news", dev_fraction=0.25))
    assert corpus.label_names == sorted(TOPICS)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (60, 20, 8)
    for split in (corpus.train, corpus.dev, corpus.test):
        for text, label in zip(split.texts, split.labels, strict=True):
            assert text.startswith(label)  # each text names its own topic


def test_imdb_bare_integer_labels_get_the_datasets_names(hub, workdir):
    corpus = load_corpus(hub_data(workdir, dataset="imdb", dev_fraction=0.1))
    assert corpus.label_names == ["neg", "pos"]
    assert corpus.test.texts == [f"review {i} of test" for i in range(20)]
    assert corpus.test.labels == ["neg", "pos"] * 10  # the unsupervised split is never read


@pytest.mark.parametrize(("src", "tgt"), [("ja", "en"), ("en", "ja")])
def test_iwslt2017_both_directions_from_one_pair_folder(hub, workdir, src, tgt):
    corpus = load_translation_corpus(
        translation_data(workdir, dataset="iwslt2017", src_lang=src, tgt_lang=tgt)
    )
    side = {"ja": 0, "en": 1}
    for got, split in ((corpus.train, "train"), (corpus.dev, "validation"), (corpus.test, "test")):
        expected = JA_EN[split]
        assert got.src == [pair[side[src]] for pair in expected]
        assert got.tgt == [pair[side[tgt]] for pair in expected]
    assert (corpus.src_lang, corpus.tgt_lang) == (src, tgt)


@pytest.mark.parametrize(("src", "tgt"), [("en", "de"), ("de", "en")])
def test_multi30k_jsonl_splits_and_directions(hub, workdir, src, tgt):
    corpus = load_translation_corpus(
        translation_data(workdir, dataset="multi30k", src_lang=src, tgt_lang=tgt)
    )
    side = {"en": 0, "de": 1}
    for got, split in ((corpus.train, "train"), (corpus.dev, "val"), (corpus.test, "test")):
        assert got.src == [pair[side[src]] for pair in EN_DE[split]]
        assert got.tgt == [pair[side[tgt]] for pair in EN_DE[split]]


def hub_study(workdir, **data):
    return write_study(
        workdir,
        name="hubstudy",
        task="translation",
        metric="bleu",
        data={"source": "huggingface", **data},
        tokenizer={"vocab_size": 40},
        search_space={
            "params": {"cell": "gru", "embedding_dim": 8, "hidden_size": 8, "batch_tokens": 200}
        },
        training={"max_epochs": 1},
    )


def test_a_missing_split_is_one_line_naming_the_dataset(hub, workdir):
    for parquet in (hub / "IWSLT/iwslt2017/iwslt2017-ja-en/test").iterdir():
        parquet.unlink()
    study = hub_study(workdir, dataset="iwslt2017", src_lang="ja", tgt_lang="en")
    result = run_hpo(
        "optimize",
        "--study",
        str(study),
        "--n-trials",
        "1",
        cwd=workdir,
        env=hpo_env(
            {"HPO_HUB_DIR": str(hub), "HF_HUB_OFFLINE": "1", "HF_HOME": str(workdir / "hf")}
        ),
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert lines == [
        f"error: dataset 'iwslt2017' ({hub}/IWSLT/iwslt2017) has no test split: "
        "no file matches iwslt2017-ja-en/test/*.parquet"
    ]
    assert not (workdir / "runs/hpo.db").exists()  # nothing stored


def test_offline_without_a_cached_copy_is_one_line(workdir):
    study = hub_study(workdir, dataset="multi30k", src_lang="en", tgt_lang="de")
    result = run_hpo(
        "optimize",
        "--study",
        str(study),
        "--n-trials",
        "1",
        cwd=workdir,
        env=hpo_env({"HF_HUB_OFFLINE": "1", "HF_HOME": str(workdir / "hf")}),
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: dataset 'multi30k' (bentrevett/multi30k): offline mode is set (HF_HUB_OFFLINE) "
        "and no copy is cached; load it once online, or point HPO_HUB_DIR at a local copy in "
        "the hub's layout"
    ]


def test_a_local_copy_without_the_repository_is_one_line(hub, workdir):
    study = hub_study(workdir, dataset="iwslt2017", src_lang="de", tgt_lang="en")
    result = run_hpo(
        "optimize",
        "--study",
        str(study),
        cwd=workdir,
        env=hpo_env({"HPO_HUB_DIR": str(workdir / "empty"), "HF_HUB_OFFLINE": "1"}),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: dataset 'iwslt2017': HPO_HUB_DIR={workdir / 'empty'} has no folder IWSLT/iwslt2017"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"dataset": "iwslt2017", "src_lang": "ja", "tgt_lang": "de"},
            "IWSLT2017 has no ja-de pair; it has ar-en, de-en,",
        ),
        (
            {
                "dataset": "iwslt2017",
                "src_lang": "ja",
                "tgt_lang": "en",
                "config": "iwslt2017-de-en",
            },
            "config 'iwslt2017-de-en' is not an IWSLT2017 configuration of ja-en",
        ),
        (
            {"dataset": "multi30k", "src_lang": "en", "tgt_lang": "fr"},
            "multi30k holds English and German",
        ),
    ],
)
def test_pairs_the_hub_does_not_have_are_refused_at_load(workdir, data, message):
    study = hub_study(workdir, **data)
    result = run_hpo("optimize", "--study", str(study), cwd=workdir)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: ") and message in line
    assert "data" in line


def test_a_hub_study_trains_end_to_end_from_the_local_copy(hub, workdir):
    study = write_study(
        workdir,
        name="news",
        data={"source": "huggingface", "dataset": "ag_news", "dev_fraction": 0.25},
    )
    env = hpo_env({"HPO_HUB_DIR": str(hub), "HF_HUB_OFFLINE": "1", "HF_HOME": str(workdir / "hf")})
    result = run_hpo("optimize", "--study", str(study), "--n-trials", "1", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr
    assert "1 complete" in result.stdout


def test_every_shipped_study_is_valid_at_load():
    from pathlib import Path

    from hpo.study.params_check import check_search_space

    shipped = sorted((Path(__file__).parent.parent / "studies").glob("*.yaml"))
    assert {p.stem for p in shipped} >= {"iwslt", "multi30k", "agnews", "imdb", "demo"}
    for path in shipped:
        config = load_study_config(str(path))
        check_search_space(config.search_space, config.task)
        if config.data.source == "huggingface":
            assert config.data.dataset in {"iwslt2017", "multi30k", "ag_news", "imdb"}
