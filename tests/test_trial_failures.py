"""A trial that raises ends FAIL with its reason and the study goes on; out-of-memory trials
may be retried; stale trials and crashed workers are told apart and recovered."""

from __future__ import annotations

import re
import textwrap

import optuna
import pytest
import torch
from optuna.trial import TrialState

from hpo.cli import main
from hpo.data.gettext_catalogs import message_pairs
from hpo.models import Family, register, registry
from hpo.models.cnn_classifier import CNN_PARAMS, build_cnn
from tests.conftest import PROJECT_ROOT, run_hpo, start_hpo, write_study

CNN_SPACE = {
    "arch": "oom",
    "embedding_dim": 16,
    "filter_sizes": "2,3",
    "num_filters": 8,
    "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
    "batch_size": 32,
}


@pytest.fixture
def out_of_memory(monkeypatch):
    """A classification family ``oom``: a CNN whose first ``builds[0]`` builds raise CUDA's
    out-of-memory error, as a model too large for the GPU does."""
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    builds = [0]

    def build(values, vocab_size, num_classes):
        if builds[0] > 0:
            builds[0] -= 1
            raise torch.cuda.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB\nmore lines of the allocator"
            )
        return build_cnn(values, vocab_size, num_classes)

    register(Family("oom", "classification", ("oom",), CNN_PARAMS, build))
    return builds


def stored(name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage="sqlite:///runs/hpo.db").get_trials()


def test_an_out_of_memory_trial_fails_with_its_reason_and_the_next_runs(workdir, out_of_memory):
    out_of_memory[0] = 1
    study = write_study(
        workdir, data={"source": "builtin", "size": 200}, search_space={"params": CNN_SPACE}
    )
    assert main(["optimize", "--study", str(study), "--n-trials", "2"]) == 0
    first, second = stored()
    assert first.state == TrialState.FAIL
    assert (
        first.user_attrs["fail_reason"]
        == "out_of_memory: CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    assert second.state == TrialState.COMPLETE
    assert "origin" not in second.user_attrs  # no retry unless the study file asks
    assert second.params != first.params


def test_retry_runs_an_out_of_memory_trial_once_more_with_its_params(workdir, out_of_memory):
    out_of_memory[0] = 2  # the trial and its one retry run out of memory
    study = write_study(
        workdir,
        data={"source": "builtin", "size": 200},
        search_space={"params": CNN_SPACE},
        retry={"on": ["out_of_memory"], "max": 1},
    )
    assert main(["optimize", "--study", str(study), "--n-trials", "3"]) == 0
    first, retry, third = stored()
    assert [first.state, retry.state, third.state] == [
        TrialState.FAIL,
        TrialState.FAIL,
        TrialState.COMPLETE,
    ]
    assert retry.params == first.params
    assert retry.user_attrs["origin"] == "retry 1 of trial 0 (out_of_memory)"
    assert retry.user_attrs["retry_of"] == 0
    assert "origin" not in third.user_attrs  # max 1: the retry that failed is not retried
    assert third.params != first.params


@pytest.mark.parametrize(
    ("retry", "wrong"),
    [({"on": ["out_of_mem"]}, "out_of_mem"), ({"on": ["out_of_memory"], "max": -1}, "max")],
)
def test_a_wrong_retry_section_is_bad_input(workdir, capsys, retry, wrong):
    study = write_study(workdir, retry=retry)
    assert main(["optimize", "--study", str(study), "--n-trials", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "retry" in err[0] and wrong in err[0], err
    assert not (workdir / "runs/hpo.db").exists()


def test_a_transformer_whose_heads_do_not_divide_d_model_fails_alone(workdir):
    if len(message_pairs("de")) < 1000:
        pytest.skip("needs German gettext catalogs (/usr/share/locale/de)")
    space = {
        "arch": "transformer",
        "layers": 1,
        "d_model": {"type": "categorical", "choices": [30, 32]},
        "heads": 4,
        "ff_dim": 32,
        "dropout": 0.0,
        "lr": 0.003,
        "batch_tokens": 400,
    }
    study = write_study(
        workdir,
        name="heads",
        task="translation",
        data={"source": "gettext", "src_lang": "en", "tgt_lang": "de", "max_pairs": 60},
        tokenizer={"vocab_size": 100},
        metric="bleu",
        search_space={"params": space},
        training={"max_epochs": 1, "threads": 1},
        pruner={"type": "none"},
    )
    assert main(["grid-search", "--study", str(study)]) == 0
    trials = {t.params["d_model"]: t for t in stored("heads")}
    assert trials[30].state == TrialState.FAIL
    assert trials[30].user_attrs["fail_reason"] == (
        "ValueError: d_model 30 is not a multiple of heads 4"
    )
    assert trials[32].state == TrialState.COMPLETE


CRASH_ONCE = """
import csv, os, threading, time

def crash_in_first_trial():
    # Exit 1 (as an uncaught error would) once this worker has logged an epoch.
    me = f":{os.getpid()}/w0"
    while True:
        time.sleep(0.1)
        try:
            with open("runs/tiny/epochs.csv", newline="") as handle:
                if any(row["worker"].endswith(me) for row in csv.DictReader(handle)):
                    os._exit(1)
        except (OSError, KeyError):
            pass

if os.environ.get("HPO_WORKER_INDEX") == "0":
    try:
        os.close(os.open("crashed-once", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        pass
    else:
        threading.Thread(target=crash_in_first_trial, daemon=True).start()
"""


def test_a_worker_that_exits_1_is_replaced_and_its_stale_trial_says_why(tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(textwrap.dedent(CRASH_ONCE))
    study_file = write_study(
        tmp_path,
        data={"source": "builtin", "size": 600},
        training={"max_epochs": 4},
        pruner={"type": "none"},
        heartbeat={"interval": 1, "grace_period": 3, "max_retry": 1},
    )
    env = {"PYTHONPATH": f"{hooks}:{PROJECT_ROOT}"}
    process = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "4",
        "--workers",
        "2",
        cwd=tmp_path,
        env=env,
    )
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert (tmp_path / "crashed-once").exists()

    storage = f"sqlite:///{tmp_path}/runs/hpo.db"
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1
    crashed = failed[0]
    reason = crashed.user_attrs["fail_reason"]
    worker = re.escape(crashed.user_attrs["worker"])
    assert re.fullmatch(
        rf"stale: no heartbeat since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \(worker {worker}\)", reason
    ), reason
    assert crashed.user_attrs["worker"].endswith("/w0")
    # The crashed worker's share was finished by a new worker 0, its trial retried.
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) == 4
    w0 = {t.user_attrs["worker"] for t in trials if t.user_attrs["worker"].endswith("/w0")}
    assert len(w0) == 2
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == crashed.number)
    assert retry.state == TrialState.COMPLETE and retry.params == crashed.params
    assert "fail_reason" not in retry.user_attrs

    listing = run_hpo(
        "trials",
        "--study",
        str(study_file),
        "--state",
        "fail",
        cwd=tmp_path,
        env={"HPO_STORAGE": storage},
    )
    assert listing.returncode == 0, listing.stderr
    assert "stale: no heartbeat since" in listing.stdout


def test_a_worker_that_dies_again_and_again_is_given_up_and_the_run_exits_1(tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        'import os\nif os.environ.get("HPO_WORKER_INDEX") == "0":\n    os._exit(1)\n'
    )
    study_file = write_study(tmp_path, heartbeat={"interval": 1, "grace_period": 2, "max_retry": 1})
    env = {"PYTHONPATH": f"{hooks}:{PROJECT_ROOT}"}
    process = start_hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "4",
        "--workers",
        "2",
        cwd=tmp_path,
        env=env,
    )
    out, err = process.communicate(timeout=600)
    assert process.returncode == 1, err
    assert "worker 0 died 3 times without finishing a trial or reporting; not started again" in err
    assert "1 worker(s) gave up" in out
    storage = f"sqlite:///{tmp_path}/runs/hpo.db"
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert [t.user_attrs["worker"][-3:] for t in trials] == ["/w1", "/w1"]  # its own share
