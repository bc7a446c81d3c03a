"""Translation studies through the CLI: a study on parallel files records BLEU per epoch with
its sacrebleu signature, its checkpoint translates and scores as recorded, `hpo train`
resumes, and bad data is refused before anything is stored."""

from __future__ import annotations

import csv
import json
import os

import optuna
import pytest
import yaml

from hpo.cli import main
from hpo.data.gettext_catalogs import message_pairs
from hpo.training.metrics import corpus_bleu

pairs = message_pairs("de")
if len(pairs) < 1000 and not os.environ.get("CI"):
    pytest.skip("needs German gettext catalogs (/usr/share/locale/de)", allow_module_level=True)

SHORT = [p for p in pairs if len(p[0].split()) <= 3 and len(p[0]) <= 20][:150]


def write_lines(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def write_parallel(directory, prefix, chosen, src="en", tgt="de"):
    write_lines(directory / f"{prefix}.{src}", [en for en, _ in chosen])
    write_lines(directory / f"{prefix}.{tgt}", [de for _, de in chosen])


def write_translation_study(directory, name="translate", data=None, **fields):
    study = {
        "name": name,
        "task": "translation",
        "data": data
        or {
            "source": "parallel",
            "train": "data/train",
            "dev": "data/dev",
            "test": "data/test",
            "src_lang": "en",
            "tgt_lang": "de",
        },
        "tokenizer": {"vocab_size": 200},
        "metric": "bleu",
        "search_space": {
            "params": {
                "cell": {"type": "categorical", "choices": ["gru", "lstm"]},
                "attention": "additive",
                "embedding_dim": 48,
                "hidden_size": 96,
                "dropout": 0.0,
                "lr": 0.01,
                "batch_tokens": 400,
            }
        },
        "training": {"max_epochs": 8, "threads": 1},
        "sampler": {"type": "random"},
        "pruner": {"type": "none"},
        "keep_checkpoints": 2,
    }
    study.update(fields)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.fixture
def parallel_files(workdir):
    """JoeyNMT-style files: data/train.en + data/train.de, dev (seen in training) and test."""
    (workdir / "data").mkdir()
    write_parallel(workdir / "data", "train", SHORT)
    write_parallel(workdir / "data", "dev", SHORT[:40])
    write_parallel(workdir / "data", "test", SHORT[40:60])
    return workdir


def stored(name="translate"):
    return optuna.load_study(study_name=name, storage="sqlite:///runs/hpo.db")


def test_a_translation_study_records_bleu_per_epoch_and_its_checkpoint_scores_as_recorded(
    parallel_files, capsys
):
    study_file = write_translation_study(parallel_files)
    assert main(["grid-search", "--study", str(study_file)]) == 0

    # Two trials (GRU, LSTM), each with BLEU reported every epoch and the sacrebleu signature.
    trials = stored().get_trials()
    assert sorted(t.params["cell"] for t in trials) == ["gru", "lstm"]
    for t in trials:
        # Steps count training pairs: one report at each epoch's end.
        epoch = t.user_attrs["epoch_examples"]
        assert sorted(t.intermediate_values) == [epoch * e for e in range(1, 9)]
        assert max(t.intermediate_values.values()) > 0
        assert t.user_attrs["sacrebleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
        assert t.value == t.intermediate_values[epoch * t.user_attrs["best_epoch"]]
    with open("runs/translate/epochs.csv", newline="") as handle:
        epochs = list(csv.DictReader(handle))
    assert len(epochs) == 16
    for row in epochs:
        trial = trials[int(row["trial"])]
        assert float(row["bleu"]) == pytest.approx(trial.intermediate_values[int(row["examples"])])
        assert 0 <= float(row["padding"]) < 0.5 and float(row["ppl"]) >= 1

    # `hpo evaluate` loads the best trial's checkpoint and gets the dev BLEU it recorded.
    best = stored().best_trial
    assert best.value > 10  # the dev pairs were seen in training
    capsys.readouterr()
    assert main(["evaluate", "--study", str(study_file), "--split", "dev", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["trial"] == best.number and scored["sentences"] == 40
    assert scored["bleu"] == pytest.approx(best.value, abs=1e-9)
    assert scored["signature"] == best.user_attrs["sacrebleu_signature"]
    assert main(["evaluate", "--study", str(study_file), "--split", "test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "test split, 20 sentences" in lines[0]
    assert lines[1].startswith("BLEU = ") and "tok:13a" in lines[1]
    assert lines[2].startswith("chrF = ")

    # `hpo translate` prints one line per input line; greedy output scores the same BLEU.
    write_lines(parallel_files / "dev-input.txt", [en for en, _ in SHORT[:40]])
    argv = ["translate", "--study", str(study_file), "--input", "dev-input.txt", "--beam", "1"]
    assert main(argv) == 0
    translations = capsys.readouterr().out.splitlines()
    assert len(translations) == 40
    assert corpus_bleu(translations, [de for _, de in SHORT[:40]]).value == pytest.approx(
        best.value, abs=1e-9
    )
    assert main([*argv[:-2], "--beam", "4", "--trial", str(best.number)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 40

    # `--device cpu` overrides the study's device and still gives the recorded BLEU.
    argv = ["evaluate", "--study", str(study_file), "--split", "dev", "--device", "cpu", "--json"]
    assert main(argv) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["bleu"] == pytest.approx(best.value, abs=1e-9)
    assert scored["device"].startswith("cpu")

    # A classifier's command on a translation study, and input with no text: one line, exit 2.
    assert main(["predict", "--study", str(study_file), "--input", "dev-input.txt"]) == 2
    assert "hpo predict needs a classification study" in one_error_line(capsys)
    write_lines(parallel_files / "blank.txt", ["", "  "])
    assert main(["translate", "--study", str(study_file), "--input", "blank.txt"]) == 2
    assert "the input is empty" in one_error_line(capsys)


def test_hpo_train_retrains_a_trial_and_resumes(parallel_files, capsys):
    study_file = write_translation_study(parallel_files, training={"max_epochs": 2, "threads": 1})
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    trial = stored().trials[0]

    capsys.readouterr()
    assert main(["train", "--study", str(study_file), "--trial", "0"]) == 0
    first = capsys.readouterr().out
    assert "epoch 1:" in first and "epoch 2:" in first
    # The same params and seed give the trial's own learning curve.
    end_of_epoch_2 = 2 * trial.user_attrs["epoch_examples"]
    assert f"bleu={trial.intermediate_values[end_of_epoch_2]:.2f}" in first.splitlines()[1]
    kept = parallel_files / "runs/translate/train-0"
    assert {"best.pt", "last.pt", "model.pt", "src.model", "tgt.model"} <= {
        p.name for p in kept.iterdir()
    }

    assert main(["train", "--study", str(study_file), "--trial", "best", "--epochs", "3"]) == 0
    resumed = capsys.readouterr().out
    assert "epoch 1:" not in resumed and "epoch 3:" in resumed
    assert "for 3 epoch(s)" in resumed


def test_the_lottery_prunes_a_translator_through_the_same_task(parallel_files, capsys):
    study_file = write_translation_study(parallel_files, training={"max_epochs": 1, "threads": 1})
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    trial = stored().trials[0]

    assert main(["lottery", "--study", str(study_file), "--rounds", "2", "--epochs", "1"]) == 0
    with open("runs/translate/lottery-original.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["round"] for row in rows] == ["0", "1"]
    assert float(rows[1]["remaining"]) == pytest.approx(0.8, abs=0.01)
    # Round 0 retrains the trial: the same params, seed and data give its value.
    assert float(rows[0]["val_bleu"]) == pytest.approx(trial.value, abs=1e-6)
    assert all(row["test_bleu"] and row["test_chrf"] and row["val_ppl"] for row in rows)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_parallel_files_of_different_lengths_are_refused(parallel_files, capsys):
    write_lines(parallel_files / "data/train.de", [de for _, de in SHORT[:-3]])
    study_file = write_translation_study(parallel_files)
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 2
    line = one_error_line(capsys)
    assert "train.en has 150 lines" in line and "train.de has 147" in line
    assert not (parallel_files / "runs/hpo.db").exists()


def test_an_empty_dev_set_is_refused(parallel_files, capsys):
    write_lines(parallel_files / "data/dev.en", [])
    write_lines(parallel_files / "data/dev.de", [])
    study_file = write_translation_study(parallel_files)
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 2
    assert "the dev split is empty" in one_error_line(capsys)
    assert not (parallel_files / "runs/hpo.db").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"source": "parallel", "train": "data/train", "dev": "data/dev"},
        {"source": "gettext"},
    ],
    ids=["parallel", "gettext"],
)
def test_an_unknown_language_code_is_refused(parallel_files, capsys, data):
    data = {**data, "src_lang": "en", "tgt_lang": "deu"}
    study_file = write_translation_study(parallel_files, data=data)
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 2
    line = one_error_line(capsys)
    assert "data.tgt_lang: unknown language code 'deu'" in line
    assert not (parallel_files / "runs/hpo.db").exists()


def test_tsv_pairs_and_gettext_catalogs_are_read(workdir):
    from hpo.config import load_study_config
    from hpo.data.parallel_sources import load_translation_corpus

    rows = [f"{en}\t{de}" for en, de in SHORT[:30]]
    write_lines(workdir / "train.tsv", rows)
    write_lines(workdir / "dev.tsv", rows[:5])
    tsv = {"source": "parallel", "format": "tsv", "train": "train.tsv", "dev": "dev.tsv"}
    corpus = load_translation_corpus(
        load_study_config(
            str(write_translation_study(workdir, data={**tsv, "src_lang": "en", "tgt_lang": "de"}))
        ).data
    )
    assert (corpus.train.src[0], corpus.train.tgt[0]) == SHORT[0] and len(corpus.dev) == 5

    gettext = {"source": "gettext", "src_lang": "de", "tgt_lang": "en", "max_pairs": 500}
    config = load_study_config(str(write_translation_study(workdir, name="g", data=gettext)))
    corpus = load_translation_corpus(config.data)
    assert len(corpus.train) == 400 and len(corpus.dev) == 50 and len(corpus.test) == 50
    english = {en for en, _ in pairs}
    assert all(sentence in english for sentence in corpus.train.tgt)  # de -> en: English targets


def test_parallel_files_as_editors_write_them_are_read_as_meant(workdir):
    """A byte-order mark (Notepad), Windows line ends, a last newline too many in one file,
    and a TSV pair whose target is empty (dropped, as blank pairs of plain files are)."""
    from hpo.config import load_study_config
    from hpo.data.parallel_sources import load_translation_corpus

    chosen = SHORT[:30]
    (workdir / "train.en").write_text(
        "\ufeff" + "".join(f"{en}\r\n" for en, _ in chosen) + "\r\n\n", encoding="utf-8"
    )
    german = "".join(f"{de}\n" for _, de in chosen)
    (workdir / "train.de").write_text("\ufeff" + german, encoding="utf-8")
    rows = ["\ufeffsource\ttarget", *(f"{en}\t{de}" for en, de in chosen[:5]), "no target\t"]
    write_lines(workdir / "dev.tsv", rows)
    text = {"source": "parallel", "train": "train", "dev": "train", "src_lang": "en"}
    config = load_study_config(
        str(write_translation_study(workdir, data={**text, "tgt_lang": "de"}))
    )
    corpus = load_translation_corpus(config.data)
    assert (corpus.train.src, corpus.train.tgt) == ([e for e, _ in chosen], [d for _, d in chosen])
    tsv = {"source": "parallel", "format": "tsv", "train": "dev.tsv", "dev": "dev.tsv"}
    tsv |= {"header": True, "src_lang": "en", "tgt_lang": "de"}
    corpus = load_translation_corpus(
        load_study_config(str(write_translation_study(workdir, name="t", data=tsv))).data
    )
    assert list(zip(corpus.dev.src, corpus.dev.tgt, strict=True)) == chosen[:5]
    # The header is line 1, the pair without a target line 7; train and dev are one file.
    dropped = f"note: {workdir / 'dev.tsv'}: 1 pair(s) with one side blank left out (line 7)"
    assert corpus.notes == [dropped, dropped]


def test_pairs_with_one_side_blank_are_left_out_and_counted(workdir):
    from hpo.config import load_study_config
    from hpo.data.parallel_sources import load_translation_corpus

    chosen = SHORT[:12]
    english = [en for en, _ in chosen]
    german = [de for _, de in chosen]
    english[2] = german[6] = " "  # lines 3 and 7 lose a side; line 10 both (a separator)
    english[9] = german[9] = ""
    (workdir / "train.en").write_text("".join(f"{s}\n" for s in english), encoding="utf-8")
    (workdir / "train.de").write_text("".join(f"{s}\n" for s in german), encoding="utf-8")
    text = {"source": "parallel", "train": "train", "dev": "train", "src_lang": "en"}
    config = load_study_config(
        str(write_translation_study(workdir, data={**text, "tgt_lang": "de"}))
    )
    corpus = load_translation_corpus(config.data)
    kept = [pair for i, pair in enumerate(chosen) if i not in (2, 6, 9)]
    assert list(zip(corpus.train.src, corpus.train.tgt, strict=True)) == kept
    assert corpus.notes[0] == (
        f"note: {workdir / 'train'}.{{en,de}}: 2 pair(s) with one side blank left out (lines 3, 7)"
    )


def test_a_tsv_of_pairs_reads_quoted_sentences_as_pandas_writes_them(workdir):
    """pandas quotes a sentence that holds a quote and doubles its quotes; in a TSV written
    without quoting a quote is a character, and a stray carriage return stays inside its
    sentence."""
    import pandas as pd

    from hpo.config import load_study_config
    from hpo.data.parallel_sources import load_translation_corpus

    quoted = [('He said "yes".', 'Er sagte „ja".'), ('"Open" the file', 'Datei „öffnen"')]
    chosen = [*SHORT[:20], *quoted]
    pd.DataFrame(chosen, columns=["en", "de"]).to_csv(workdir / "train.tsv", sep="\t", index=False)
    plain = [('5" screen', '5"-Bildschirm'), ('"Hello," she said', '„Hallo", sagte sie')]
    plain += [("a stray\rreturn", "ein verirrtes\rZeichen")]
    rows = ["source\ttarget", *(f"{en}\t{de}" for en, de in [*SHORT[:5], *plain])]
    write_lines(workdir / "dev.tsv", rows)
    tsv = {"source": "parallel", "format": "tsv", "train": "train.tsv", "dev": "dev.tsv"}
    tsv |= {"header": True, "src_lang": "en", "tgt_lang": "de"}
    corpus = load_translation_corpus(
        load_study_config(str(write_translation_study(workdir, name="q", data=tsv))).data
    )
    assert list(zip(corpus.train.src, corpus.train.tgt, strict=True)) == chosen
    assert list(zip(corpus.dev.src, corpus.dev.tgt, strict=True)) == [*SHORT[:5], *plain]


def test_the_same_language_on_both_sides_is_refused(parallel_files, capsys):
    # train.en would be read as source and target: a model that learns to copy.
    data = {"source": "parallel", "train": "data/train", "dev": "data/dev"}
    data |= {"src_lang": "en", "tgt_lang": "en"}
    study_file = write_translation_study(parallel_files, data=data)
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 2
    assert "src_lang and tgt_lang are both 'en'" in one_error_line(capsys)
    assert not (parallel_files / "runs/hpo.db").exists()


def test_a_file_given_for_a_prefix_is_told_so(parallel_files, capsys):
    data = {"source": "parallel", "train": "data/train.en", "dev": "data/dev"}
    data |= {"src_lang": "en", "tgt_lang": "de"}
    study_file = write_translation_study(parallel_files, data=data)
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 2
    line = one_error_line(capsys)
    assert "train.en.en does not exist" in line and "prefix" in line and "data/train " in line
    assert not (parallel_files / "runs/hpo.db").exists()


def test_a_study_over_both_families_trains_and_uses_a_transformer(parallel_files, capsys):
    """`arch: transformer` beside `arch: rnn` in one space: each family trains through the
    same objective, and the Transformer's checkpoint scores on dev what its trial recorded."""
    space = {
        "params": {
            "arch": {"type": "categorical", "choices": ["rnn", "transformer"]},
            "cell": {"type": "categorical", "choices": ["gru"], "when": {"arch": "rnn"}},
            "hidden_size": {"type": "categorical", "choices": [64], "when": {"arch": "rnn"}},
            "layers": {"type": "categorical", "choices": [1], "when": {"arch": "transformer"}},
            "d_model": {"type": "categorical", "choices": [64], "when": {"arch": "transformer"}},
            "heads": {"type": "categorical", "choices": [4], "when": {"arch": "transformer"}},
            "ff_dim": {"type": "categorical", "choices": [128], "when": {"arch": "transformer"}},
            "dropout": 0.0,
            "lr": 0.003,
            "batch_tokens": 400,
        }
    }
    study_file = write_translation_study(parallel_files, search_space=space)
    assert main(["grid-search", "--study", str(study_file)]) == 0
    trials = {t.params["arch"]: t for t in stored().get_trials()}
    assert set(trials) == {"rnn", "transformer"}
    transformer = trials["transformer"]
    assert transformer.state.name == "COMPLETE" and transformer.value > 1

    capsys.readouterr()
    trial = str(transformer.number)
    assert main(["evaluate", "--study", str(study_file), "--trial", trial, "--split", "dev"]) == 0
    assert f"BLEU = {transformer.value:.2f}" in capsys.readouterr().out


def test_with_searched_vocabularies_every_trial_ends_its_epochs_at_the_same_steps(
    parallel_files,
):
    """The length filter counts subwords, so each vocabulary keeps its own number of training
    pairs; the pruner's steps are scaled to the split as loaded, so that every trial's epoch
    ends (validated on all of dev) fall on the rungs in whole epochs."""
    space = {
        "params": {
            "src_vocab_size": {"type": "categorical", "choices": [100, 300]},
            "cell": "gru",
            "attention": "none",
            "embedding_dim": 32,
            "hidden_size": 32,
            "lr": 0.01,
            "batch_tokens": 100,
        }
    }
    study_file = write_translation_study(
        parallel_files,
        search_space=space,
        translation={"max_tokens": 9},
        training={"max_epochs": 2, "report_every": "0.5 epoch", "threads": 1},
    )
    assert main(["grid-search", "--study", str(study_file)]) == 0

    loaded = len(SHORT)
    assert stored().user_attrs["epoch_examples"] == loaded
    kept = {}
    for trial in stored().get_trials():
        assert trial.state.name == "COMPLETE"
        assert trial.user_attrs["epoch_examples"] == loaded  # the unit of its steps
        steps = sorted(trial.intermediate_values)
        assert loaded in steps and 2 * loaded in steps  # both epoch ends
        assert len(steps) == 4  # and one report half-way through each
        kept[trial.params["src_vocab_size"]] = trial.user_attrs["examples_seen"] // 2
    # Subwords of the smaller vocabulary are shorter, so its filter drops more pairs.
    assert kept[100] < kept[300] <= loaded
    # epochs.csv keeps every report after the study's end, at the step the store holds it
    # at (its examples column counts the trial's own, fewer, pairs).
    with open("runs/translate/epochs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for trial in stored().get_trials():
        mine = [r for r in rows if r["trial"] == str(trial.number)]
        assert sorted(int(r["step"]) for r in mine) == sorted(trial.intermediate_values)
        for row in mine:
            assert float(row["bleu"]) == pytest.approx(trial.intermediate_values[int(row["step"])])
    assert any(r["examples"] != r["step"] for r in rows)
