"""On a GPU: studies train on CUDA with AMP, decoding matches the CPU, `hpo train` resumes with
the CUDA random state, and two workers share one GPU.

Every test here is marked ``cuda``: where no GPU is present they are deselected (see
conftest), so they neither run nor count as skipped. ``benchmarks/gpu_check.py`` runs them.
The data is made up (``synthetic_pairs``), so they need no gettext catalogs on the GPU machine.
"""

from __future__ import annotations

import copy
import math
import shutil

import optuna
import pytest
import torch
import yaml
from optuna.trial import TrialState

from benchmarks.common import synthetic_pairs
from hpo.cli import main
from hpo.config import TokenizerConfig, TranslationConfig
from hpo.data.parallel import ParallelTexts, TranslationCorpus
from hpo.data.prepare_translation import PreparedTranslationData
from hpo.models import build
from hpo.training.decoding import beam_search, greedy_decode
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq
from tests.conftest import start_hpo, write_study

pytestmark = pytest.mark.cuda

PAIRS = synthetic_pairs(260)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def stored(workdir, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{workdir}/runs/hpo.db")


def write_translation_study(directory, name="gpu", **training):
    """A tiny translation study on made-up parallel files, trained on CUDA."""
    (directory / "data").mkdir(exist_ok=True)
    splits = {"train": PAIRS[:200], "dev": PAIRS[200:240], "test": PAIRS[240:]}
    for split, chosen in splits.items():
        for index, lang in enumerate(("en", "de")):
            text = "".join(f"{pair[index]}\n" for pair in chosen)
            (directory / "data" / f"{split}.{lang}").write_text(text, encoding="utf-8")
    study = {
        "name": name,
        "task": "translation",
        "data": {
            "source": "parallel",
            **{split: f"data/{split}" for split in splits},
            "src_lang": "en",
            "tgt_lang": "de",
        },
        "tokenizer": {"vocab_size": 120},
        "metric": "bleu",
        "search_space": {
            "params": {
                "cell": "gru",
                "attention": "additive",
                "embedding_dim": 32,
                "hidden_size": 64,
                "dropout": 0.3,
                "lr": 0.01,
                "batch_tokens": 400,
            }
        },
        "training": {"max_epochs": 2, "device": "cuda", "amp": True, **training},
        "sampler": {"type": "random"},
        "pruner": {"type": "none"},
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.fixture
def full_fp32():
    """Plain fp32 on the GPU (no TF32 matrix products), to compare with the CPU."""
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_a_classifier_study_trains_on_the_gpu_with_amp(workdir):
    study_file = write_study(workdir, training={"max_epochs": 2, "device": "cuda", "amp": True})

    assert main(["optimize", "--study", str(study_file), "--n-trials", "2"]) == 0

    trials = stored(workdir, "tiny").get_trials()
    assert len(trials) == 2 and all(t.state in FINISHED for t in trials)
    assert all(t.user_attrs["device"].startswith("cuda") for t in trials)


def test_a_translation_trial_trains_with_amp_and_scores_a_finite_bleu(workdir):
    study_file = write_translation_study(workdir)

    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0

    (trial,) = stored(workdir, "gpu").get_trials()
    assert trial.state == TrialState.COMPLETE
    assert trial.user_attrs["device"].startswith("cuda")
    epoch = trial.user_attrs["epoch_examples"]  # steps count training pairs
    assert sorted(trial.intermediate_values) == [epoch, 2 * epoch]
    assert all(math.isfinite(bleu) for bleu in trial.intermediate_values.values())
    assert math.isfinite(trial.value)


def test_greedy_and_beam_decoding_on_the_gpu_give_the_ids_of_the_cpu(tmp_path, full_fp32):
    texts = ParallelTexts([en for en, _ in PAIRS[:200]], [de for _, de in PAIRS[:200]])
    corpus = TranslationCorpus(texts, texts, None, "synthetic", "en", "de")
    splits = PreparedTranslationData(
        corpus, TokenizerConfig(vocab_size=120), TranslationConfig(), tmp_path / "cache"
    ).encoded()
    params = dict(cell="lstm", attention="additive", embedding_dim=32, hidden_size=64)
    params.update(dropout=0.0, lr=0.01, batch_tokens=400)
    torch.manual_seed(0)
    model = build(
        "translation",
        params,
        src_vocab_size=splits.src_tokenizer.vocab_size,
        tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
    )
    # Trained a little, so that the next token is rarely a near tie.
    settings = Seq2SeqSettings.from_params(params, max_epochs=6, amp=False)
    fit_seq2seq(model, splits, params, settings, device=torch.device("cuda"))
    on_gpu = model.eval()
    on_cpu = copy.deepcopy(model).cpu()

    cpu = splits.dev.collate(list(range(32)))
    gpu = cpu.to(torch.device("cuda"))
    greedy = greedy_decode(on_cpu, cpu.src, cpu.src_lengths)
    assert greedy_decode(on_gpu, gpu.src, gpu.src_lengths) == greedy
    assert beam_search(on_gpu, gpu.src, gpu.src_lengths, beam_size=4) == beam_search(
        on_cpu, cpu.src, cpu.src_lengths, beam_size=4
    )
    assert sum(map(len, greedy)) > 0


def test_hpo_train_resumes_on_the_gpu_with_the_cuda_random_state(workdir):
    study_file = write_translation_study(workdir, amp=False)  # dropout 0.3 draws on the GPU
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    kept = workdir / "runs/gpu/train-0"
    assert main(["train", "--study", str(study_file), "--trial", "0"]) == 0
    uninterrupted = torch.load(kept / "last.pt", weights_only=True)
    shutil.rmtree(kept)

    assert main(["train", "--study", str(study_file), "--trial", "0", "--epochs", "1"]) == 0
    assert main(["train", "--study", str(study_file), "--trial", "0", "--epochs", "2"]) == 0

    resumed = torch.load(kept / "last.pt", weights_only=True)
    assert resumed["cuda_rng"] and all(isinstance(s, torch.Tensor) for s in resumed["cuda_rng"])
    # Epoch 2 draws the dropout masks of the uninterrupted run: the same loss, the same
    # weights (up to the GPU's own non-determinism, far below what other masks give).
    losses = [[r["train_loss"] for r in state["history"]] for state in (uninterrupted, resumed)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)
    for name, weights in uninterrupted["model"].items():
        torch.testing.assert_close(resumed["model"][name], weights, atol=1e-4, rtol=1e-3)


def test_two_workers_share_one_gpu(workdir):
    study_file = write_study(
        workdir,
        training={"max_epochs": 2, "device": "cuda", "amp": True},
        data={"source": "builtin", "size": 200},
    )

    process = start_hpo(
        "optimize", "--study", str(study_file), "--n-trials", "4", "--workers", "2", cwd=workdir
    )
    _, err = process.communicate(timeout=300)

    assert process.returncode == 0, err
    trials = stored(workdir, "tiny").get_trials()
    assert len([t for t in trials if t.state in FINISHED]) == 4
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert all(t.user_attrs["device"].startswith("cuda") for t in trials)
