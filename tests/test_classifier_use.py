"""Using a tuned classifier: `hpo evaluate` scores a split the way the trial scored dev,
`hpo predict` labels text line for line, both on the chosen device, and misuse is one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from hpo.cli import main
from hpo.data.builtin import topics_corpus
from hpo.errors import HpoError
from hpo.run_layout import trial_dir
from hpo.tasks.classification.use import load_classifier as load_model
from tests.conftest import hpo_env, write_study

MAX_LENGTH = 64
LONG_LINE = " ".join(["the striker scored a goal in the final match"] * 12)


def write_tsv(path: Path, split) -> None:
    rows = "".join(
        f"{text}\t{label}\n" for text, label in zip(split.texts, split.labels, strict=True)
    )
    path.write_text("text\tlabel\n" + rows, encoding="utf-8")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """A classification study on TSV files (train, dev, test), 3 trials, each kept."""
    directory = tmp_path_factory.mktemp("classifier-use")
    corpus = topics_corpus(400)
    for name in ("train", "dev", "test"):
        write_tsv(directory / f"{name}.tsv", getattr(corpus, name))
    write_study(
        directory,
        name="clf",
        data={"source": "files", "train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"},
        tokenizer={"vocab_size": 120, "max_length": MAX_LENGTH},
        metric="f1",
        search_space="classifier-small",
        training={"max_epochs": 2, "device": "cpu"},
        pruner={"type": "none"},
        keep_checkpoints=3,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        patch.delenv("HPO_STORAGE", raising=False)
        assert main(["optimize", "--study", "clf.yaml", "--n-trials", "3"]) == 0
    return directory


@pytest.fixture(autouse=True)
def in_study_dir(study_dir, monkeypatch):
    monkeypatch.chdir(study_dir)
    monkeypatch.delenv("HPO_STORAGE", raising=False)


def stored_trials() -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="clf", storage="sqlite:///runs/hpo.db").get_trials()


def complete_trials() -> list[optuna.trial.FrozenTrial]:
    """The trials that kept a checkpoint (one pruned as hopeless keeps none)."""
    return [t for t in stored_trials() if t.state == optuna.trial.TrialState.COMPLETE]


def evaluate_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["evaluate", "--study", "clf.yaml", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def predict(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real `hpo predict` in a child process, text given on its stdin."""
    return subprocess.run(
        [sys.executable, "-m", "hpo", "predict", "--study", "clf.yaml", *args],
        input=stdin,
        env=hpo_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def plain_scores(predicted: list[int], gold: list[int], classes: int) -> tuple[float, float]:
    """Accuracy and macro-F1 counted by hand."""
    correct = sum(p == g for p, g in zip(predicted, gold, strict=True))
    f1s = []
    for c in range(classes):
        tp = sum(p == c and g == c for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == c and g != c for p, g in zip(predicted, gold, strict=True))
        fn = sum(p != c and g == c for p, g in zip(predicted, gold, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return correct / len(gold), sum(f1s) / classes


def test_evaluate_on_test_matches_a_direct_computation_from_the_checkpoint(capsys):
    scored = evaluate_json(capsys, "--split", "test")
    assert scored["split"] == "test" and scored["examples"] == 60
    assert scored["device"].startswith("cpu")

    # The same checkpoint, one sentence at a time, scored by hand.
    model, tokenizer, meta = load_model(Path(scored["checkpoint"]))
    corpus = topics_corpus(400)
    gold = [meta["label_names"].index(label) for label in corpus.test.labels]
    predicted = []
    with torch.no_grad():
        for ids in tokenizer.encode(corpus.test.texts):
            logits = model(torch.tensor([ids]), torch.tensor([len(ids)]))
            predicted.append(int(logits.argmax()))
    accuracy, f1 = plain_scores(predicted, gold, len(meta["label_names"]))
    assert scored["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert scored["f1"] == pytest.approx(f1, abs=1e-12)

    labels = scored["labels"]
    assert labels == meta["label_names"]
    matrix = scored["confusion_matrix"]
    for i, label in enumerate(labels):
        row = [
            sum(p == j and g == i for p, g in zip(predicted, gold, strict=True))
            for j in range(len(labels))
        ]
        assert matrix[i] == row
        assert scored["per_class"][label]["support"] == gold.count(i)
    assert sum(scored["per_class"][label]["f1"] for label in labels) / len(labels) == (
        pytest.approx(scored["f1"])
    )


def test_a_model_saved_with_its_classes_in_another_order_scores_the_same(capsys):
    """Integer labels are ordered by number (2 before 10), as they were not when older
    models were saved: a model keeps the class ids it was saved with, so the same model
    with its classes listed in another order scores the same."""
    before = evaluate_json(capsys, "--split", "test")
    path = Path(before["checkpoint"]) / "model.pt"
    saved = path.read_bytes()
    checkpoint = torch.load(path, weights_only=True)
    order = list(reversed(range(len(checkpoint["label_names"]))))
    checkpoint["label_names"] = [checkpoint["label_names"][i] for i in order]
    for key in ("output.weight", "output.bias"):  # the same classifier, classes reordered
        checkpoint["state_dict"][key] = checkpoint["state_dict"][key][order]
    torch.save(checkpoint, path)
    try:
        after = evaluate_json(capsys, "--split", "test")
    finally:
        path.write_bytes(saved)
    assert after["labels"] == checkpoint["label_names"] != before["labels"]
    assert after["accuracy"] == before["accuracy"]
    assert after["f1"] == pytest.approx(before["f1"], abs=1e-12)


def test_evaluate_on_dev_gives_the_value_each_trial_recorded(capsys):
    best = optuna.load_study(study_name="clf", storage="sqlite:///runs/hpo.db").best_trial
    scored = evaluate_json(capsys, "--split", "dev")
    assert scored["trial"] == best.number and scored["metric"] == "f1"
    assert scored["value"] == best.value == scored["f1"]
    for trial in complete_trials():
        scored = evaluate_json(capsys, "--split", "dev", "--trial", str(trial.number))
        assert scored["value"] == trial.value, trial.number


def test_evaluate_prints_scores_per_class_and_the_confusion_matrix(capsys):
    capsys.readouterr()
    assert main(["evaluate", "--study", "clf.yaml", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "test split, 60 examples, on cpu" in lines[0]
    assert lines[1].startswith("accuracy = ") and "macro-F1 = " in lines[1]
    assert lines[3].split() == ["label", "precision", "recall", "f1", "support"]
    assert [line.split()[0] for line in lines[4:8]] == ["business", "science", "sports", "world"]
    assert lines[9].startswith("confusion matrix")
    assert sum(int(n) for line in lines[10:14] for n in line.split()[1:]) == 60


def predict_file(capsys, text: str, *args: str) -> tuple[list[str], str]:
    """`hpo predict --input FILE` on ``text``: its output lines and its stderr."""
    Path("input.txt").write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--study", "clf.yaml", "--input", "input.txt", *args]) == 0
    captured = capsys.readouterr()
    return captured.out.splitlines(), captured.err


def test_predict_answers_line_for_line_on_stdin_and_from_a_file(capsys):
    corpus = topics_corpus(400)
    text = "\n".join(corpus.test.texts) + "\n"
    from_stdin = predict("--device", "cpu", stdin=text)
    assert from_stdin.returncode == 0 and from_stdin.stderr == "", from_stdin.stderr
    lines, notice = predict_file(capsys, text)
    assert from_stdin.stdout.splitlines() == lines and notice == ""
    assert len(lines) == len(corpus.test.texts)
    labels = [line.split("\t")[0] for line in lines]
    assert all(0.25 <= float(line.split("\t")[1]) <= 1 for line in lines)
    # In the input's order: the share of right labels is the test accuracy evaluate gives.
    right = sum(p == g for p, g in zip(labels, corpus.test.labels, strict=True))
    assert right / len(lines) == evaluate_json(capsys, "--split", "test")["accuracy"]

    # A blank line is answered by a blank line; the others keep their answers.
    answered, _ = predict_file(capsys, f"{corpus.test.texts[0]}\n\n{corpus.test.texts[1]}\n")
    assert answered == [lines[0], "", lines[1]]


def test_predict_json_carries_every_class_probability(capsys):
    text = "Election results and the new treaty.\n\nMarkets fell.\n"
    lines, _ = predict_file(capsys, text, "--json")
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 3 and rows[1] == {"label": None, "probability": None, "probabilities": None}
    for row in (rows[0], rows[2]):
        probabilities = row["probabilities"]
        assert sorted(probabilities) == ["business", "science", "sports", "world"]
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert row["label"] == max(probabilities, key=probabilities.get)
        assert row["probability"] == probabilities[row["label"]]


def test_a_line_longer_than_the_model_limit_is_truncated_with_one_notice(capsys):
    lines, notice = predict_file(capsys, f"{LONG_LINE}\nMarkets fell.\n{LONG_LINE} again\n")
    assert len(lines) == 3
    assert notice.splitlines() == [
        f"note: 2 input line(s) longer than the model's limit of {MAX_LENGTH} tokens "
        "were truncated to it"
    ]


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in captured.err, captured.err
    return err[0]


def write_study_without_test_split() -> str:
    config = yaml.safe_load(Path("clf.yaml").read_text())
    del config["data"]["test"]
    Path("clf-no-test.yaml").write_text(yaml.safe_dump(config))
    return "clf-no-test.yaml"


NO_CUDA = "no CUDA device is present"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["translate", "--study", "clf.yaml"], "hpo translate needs a translation study"),
        (["predict", "--study", "clf.yaml", "--input", "empty.txt"], "the input is empty"),
        (["predict", "--study", "clf.yaml", "--input", "blank.txt"], "the input is empty"),
        (["evaluate", "--study", "clf-no-test.yaml"], "has no test split"),
        (["evaluate", "--study", "clf.yaml", "--split", "train"], "--split must be dev or test"),
        (["evaluate", "--study", "clf.yaml", "--beam", "5"], "apply to translation studies"),
        (["predict", "--study", "clf.yaml", "--input", "in.txt", "--device", "tpu"], "got 'tpu'"),
        (["evaluate", "--study", "clf.yaml", "--device", "cuda:x"], "cpu, cuda or cuda:N"),
        (["predict", "--study", "clf.yaml", "--trial", "first"], "got 'first'"),
        (["evaluate", "--study", "clf.yaml", "--trial", "-1"], "got '-1'"),
        (["train", "--study", "clf.yaml", "--trial", "last"], "got 'last'"),
        (["predict", "--study", "clf.yaml", "--trial", "99"], "has no trial 99"),
        (["predict", "--study", "clf.yaml", "--input", "in.txt", "--device", "cuda"], NO_CUDA),
        (["evaluate", "--study", "clf.yaml", "--device", "cuda:0"], NO_CUDA),
        (["train", "--study", "clf.yaml", "--device", "cuda"], NO_CUDA),
        (["lottery", "--study", "clf.yaml", "--device", "cuda"], NO_CUDA),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, says, capsys):
    if says == NO_CUDA and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    Path("empty.txt").write_text("")
    Path("blank.txt").write_text("\n  \n\n")
    Path("in.txt").write_text("Markets fell.\n")
    write_study_without_test_split()
    before = [(t.number, t.state, t.value) for t in stored_trials()]
    capsys.readouterr()
    assert main(argv) == 2
    assert says in one_error_line(capsys)
    assert [(t.number, t.state, t.value) for t in stored_trials()] == before
    assert not Path("runs/clf/train-0").exists()


def test_empty_stdin_is_one_line_without_traceback():
    empty = predict(stdin="")
    assert empty.returncode == 2 and empty.stdout == ""
    assert empty.stderr.splitlines() == ["error: the input is empty: no line to classify"]


def test_stdin_that_is_not_utf8_is_one_line_and_a_byte_order_mark_is_no_text():
    def run(data: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hpo", "predict", "--study", "clf.yaml", "--device", "cpu"],
            input=data,
            env={**hpo_env(), "LC_ALL": "C.UTF-8"},  # stdin's text layer: surrogateescape
            capture_output=True,
            timeout=120,
        )

    latin1 = run("café au lait\n".encode("latin-1"))
    assert latin1.returncode == 2 and latin1.stdout == b""
    (line,) = latin1.stderr.decode().splitlines()
    assert line.startswith("error: cannot read stdin:") and "utf-8" in line
    plain, marked = run(b"Markets fell.\n"), run(b"\xef\xbb\xbfMarkets fell.\n")
    assert plain.returncode == marked.returncode == 0 and plain.stdout == marked.stdout


def test_a_checkpoint_lacking_what_a_model_needs_is_one_line_naming_it(tmp_path):
    kept = trial_dir(Path("runs/clf"), complete_trials()[0].number)
    older = tmp_path / "older"
    shutil.copytree(kept, older)
    checkpoint = torch.load(older / "model.pt", weights_only=True)
    del checkpoint["num_classes"], checkpoint["label_names"]
    torch.save(checkpoint, older / "model.pt")

    with pytest.raises(HpoError) as raised:
        load_model(older)
    assert str(raised.value) == (
        f"the checkpoint in {older} lacks num_classes, label_names (written by an older hpo); "
        "`hpo train` writes a complete one"
    )
    model, _, meta = load_model(kept)
    assert not model.training and meta["num_classes"] == 4


@pytest.mark.cuda
def test_evaluate_and_predict_on_cuda_agree_with_cpu(capsys):
    best = max(complete_trials(), key=lambda t: t.value)
    on_gpu = evaluate_json(capsys, "--split", "dev", "--device", "cuda")
    assert on_gpu["device"].startswith("cuda:0")
    # AMP (the study's training.amp) may move a logit in its last bits, rarely a label.
    assert on_gpu["value"] == pytest.approx(best.value, abs=0.05)
    text = "\n".join(topics_corpus(400).test.texts) + "\n"
    gpu = predict("--device", "cuda", stdin=text)
    cpu = predict("--device", "cpu", stdin=text)
    assert gpu.returncode == 0, gpu.stderr
    gpu_labels = [line.split("\t")[0] for line in gpu.stdout.splitlines()]
    cpu_labels = [line.split("\t")[0] for line in cpu.stdout.splitlines()]
    assert sum(g == c for g, c in zip(gpu_labels, cpu_labels, strict=True)) >= 0.95 * len(
        gpu_labels
    )
