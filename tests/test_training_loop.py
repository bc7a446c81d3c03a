"""One training loop for every task: the same `fit` trains a classifier and both translators
(recurrent, Transformer), reports within epochs as configured, resumes each from its
checkpoint (at an epoch's end or within one) to the weights of an uninterrupted run,
normalises a loss by the units of its whole accumulation window, and stops on divergence
and on time."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from hpo.checkpoints import load_checkpoint
from hpo.cli import main
from hpo.config import BuiltinData, TokenizerConfig, TranslationConfig
from hpo.data import load_classification_corpus
from hpo.data.gettext_catalogs import message_pairs
from hpo.data.parallel import ParallelTexts, TranslationCorpus
from hpo.data.prepare import PreparedClassificationData
from hpo.data.prepare_translation import PreparedTranslationData
from hpo.data.seq2seq_batching import ParallelDataset
from hpo.models import build
from hpo.training.classification_step import ClassificationTask
from hpo.training.loop import DivergedError, FitResult, LoopSettings, fit
from hpo.training.metrics import perplexity
from hpo.training.precision import (
    KERNEL_CACHE_CAPACITY,
    KERNEL_CACHE_ENV,
    cpu_has_bfloat16,
    linux_cpu_flags,
    training_dtype,
)
from hpo.training.report_schedule import dev_subset
from hpo.training.resume import BEST_CHECKPOINT, LAST_CHECKPOINT, load_state, save_state
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq, translation_task
from hpo.training.translation_eval import evaluate_translation, teacher_forced_nll
from hpo.training.translation_step import DEV_SUBSET_SENTENCES
from tests.conftest import write_study

CPU = torch.device("cpu")
CLASSIFIER = {"arch": "cnn", "embedding_dim": 16, "filter_sizes": "2,3", "num_filters": 8}
CLASSIFIER.update(dropout=0.3, lr=0.01, optimizer="adamw", lr_schedule="cosine")
TRANSLATOR = {"cell": "gru", "embedding_dim": 16, "hidden_size": 16, "attention": "additive"}
TRANSLATOR.update(dropout=0.3, lr=0.01, batch_tokens=150, teacher_forcing=0.5, accumulate=2)
TRANSLATOR.update(warmup_steps=3, lr_schedule="plateau", plateau_patience=0)
TRANSFORMER = {"arch": "transformer", "layers": 2, "d_model": 16, "heads": 4, "ff_dim": 32}
TRANSFORMER.update(dropout=0.3, lr=0.01, batch_tokens=150, accumulate=2)
TRANSFORMER.update(warmup_steps=3, lr_schedule="inverse_sqrt")


@pytest.fixture(autouse=True)
def one_thread():
    """The same thread count for both runs (torch sums in another order with another)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def encoded_topics(size, cache):
    corpus = load_classification_corpus(BuiltinData(source="builtin", size=size))
    prepared = PreparedClassificationData(corpus, TokenizerConfig(vocab_size=100), cache)
    return prepared.encoded(), corpus.num_classes


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    return encoded_topics(200, tmp_path_factory.mktemp("cache"))


def short_message_pairs(count: int, vocab_size: int, cache: Path):
    """``count`` English -> German gettext messages of up to three words, as train and dev."""
    pairs = [(en, de) for en, de in message_pairs("de") if len(en.split()) <= 3][:count]
    if len(pairs) < count:
        pytest.skip("needs German gettext catalogs (/usr/share/locale/de)")
    texts = ParallelTexts([en for en, _ in pairs], [de for _, de in pairs])
    corpus = TranslationCorpus(texts, texts, None, "gettext", "en", "de")
    tokenizer = TokenizerConfig(vocab_size=vocab_size)
    return PreparedTranslationData(corpus, tokenizer, TranslationConfig(), cache).encoded()


@pytest.fixture(scope="module")
def sentence_pairs(tmp_path_factory):
    return short_message_pairs(60, 120, tmp_path_factory.mktemp("c"))


def classifier_run(topics):
    splits, num_classes = topics
    torch.manual_seed(3)
    model = build("classification", CLASSIFIER, vocab_size=100, num_classes=num_classes)
    task = ClassificationTask(splits.train, splits.dev, batch_size=16, num_classes=num_classes)
    settings = LoopSettings(max_epochs=4, metric="accuracy", maximize=True, seed=7)
    return model, task, settings


def translator_run(splits, params: dict[str, Any] = TRANSLATOR):
    torch.manual_seed(3)
    model = build(
        "translation",
        params,
        src_vocab_size=splits.src_tokenizer.vocab_size,
        tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
    )
    settings = Seq2SeqSettings.from_params(params, max_epochs=4, amp=False, seed=7)
    return model, translation_task(splits, settings, CPU), settings


def losses(result: FitResult) -> list[tuple[float, float, float]]:
    return [(r.train_loss, r.val_loss, r.lr) for r in result.history]


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def stop_in_epoch_3(record) -> None:
    if record.epoch == 3:
        raise KeyboardInterrupt


PARAMS = {"classifier": CLASSIFIER, "rnn": TRANSLATOR, "transformer": TRANSFORMER}


@pytest.mark.parametrize("report_every", ["auto", "0.5 epoch"], ids=["per-epoch", "half-epoch"])
@pytest.mark.parametrize("kind", list(PARAMS))
def test_a_run_stopped_in_epoch_3_resumes_to_the_weights_of_an_uninterrupted_run(
    kind, report_every, request, tmp_path
):
    params = PARAMS[kind]

    def run():
        if kind == "classifier":
            model, task, settings = classifier_run(request.getfixturevalue("topics"))
        else:
            splits = request.getfixturevalue("sentence_pairs")
            model, task, settings = translator_run(splits, params)
        settings.report_every = report_every
        return model, task, settings

    model, task, settings = run()
    whole = fit(model, task, params, settings)

    # Stopped at epoch 3's end, after its training, before its checkpoint: last.pt holds
    # the report before (epoch 2's end, or halfway through epoch 3), while batch order,
    # dropout and teacher forcing have drawn the numbers of the rest of epoch 3.
    stopped_model, stopped_task, stopped_settings = run()
    with pytest.raises(KeyboardInterrupt):
        fit(
            stopped_model,
            stopped_task,
            params,
            stopped_settings,
            [stop_in_epoch_3],
            None,
            (),
            tmp_path,
        )
    within_epoch = load_state(tmp_path / LAST_CHECKPOINT)["in_epoch"] is not None
    assert within_epoch == (report_every != "auto")
    # Run again: it continues from last.pt, not from scratch.
    resumed_model, resumed_task, resumed_settings = run()
    seen: list[float] = []
    resumed = fit(
        resumed_model,
        resumed_task,
        params,
        resumed_settings,
        [lambda record: seen.append(record.epoch)],
        checkpoint_dir=tmp_path,
        resume=True,
    )

    epochs = [r.epoch for r in whole.history]
    assert seen == epochs[epochs.index(3) :]
    assert len(seen) == (2 if report_every == "auto" else 3)
    assert_same_weights(resumed_model, model)
    assert losses(resumed) == losses(whole)
    assert [r.examples for r in resumed.history] == [r.examples for r in whole.history]
    assert (resumed.best_epoch, resumed.best_value) == (whole.best_epoch, whole.best_value)
    assert whole.best_state is not None and resumed.best_state is not None
    for name, tensor in whole.best_state.items():
        assert torch.equal(tensor, resumed.best_state[name]), name


def test_reports_come_at_the_configured_fraction_of_an_epoch(topics):
    splits, num_classes = topics
    torch.manual_seed(3)
    model = build("classification", CLASSIFIER, vocab_size=100, num_classes=num_classes)
    # 140 training texts in 10 batches of 14; dev's 30 texts, 10 of them for reports within
    # an epoch.
    task = ClassificationTask(
        splits.train, splits.dev, batch_size=14, num_classes=num_classes, dev_subset=10
    )
    settings = LoopSettings(
        max_epochs=2, metric="accuracy", maximize=True, report_every="0.25 epoch"
    )
    seen: list[tuple[float, int]] = []

    result = fit(model, task, CLASSIFIER, settings, [lambda r: seen.append((r.epoch, r.examples))])

    # Every 35 texts, at the first step at or after it: 42, 70, 112, then the epoch's end.
    assert seen == [
        (0.3, 42),
        (0.5, 70),
        (0.8, 112),
        (1, 140),
        (1.3, 182),
        (1.5, 210),
        (1.8, 252),
        (2, 280),
    ]
    history = result.history
    assert [r.subset for r in history] == [True, True, True, False] * 2
    for record in history:
        dev_size = 10 if record.subset else 30
        assert (record.metrics["accuracy"] * dev_size) == pytest.approx(
            round(record.metrics["accuracy"] * dev_size)
        )
        assert record.epoch_examples == 140 and record.val_seconds > 0
    # The best comes from epochs' ends, validated on all of dev.
    assert result.best_epoch in (1, 2)
    assert result.best_value == result.epoch_record(result.best_epoch).metrics["accuracy"]
    assert result.examples_seen == 280
    assert result.tokens_seen == 2 * sum(len(ids) for ids in splits.train.ids)
    assert result.train_seconds == pytest.approx(sum(r.train_seconds for r in history))
    assert result.val_seconds == pytest.approx(sum(r.val_seconds for r in history))


def test_accumulated_batches_give_the_gradient_of_their_window_as_one_batch(sentence_pairs):
    # No dropout, always the gold previous token: the two computations are deterministic.
    params = {**TRANSLATOR, "dropout": 0.0, "teacher_forcing": 1.0, "clip_grad": 0.0}
    model, task, settings = translator_run(sentence_pairs, params)
    settings.max_epochs = 1
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    first_two = list(task.batches(torch.Generator().manual_seed(settings.seed)))[:2]
    units = [task.units(b) for b in first_two]
    assert units[0] != units[1]  # batches of different token counts

    gradients: list[list[torch.Tensor]] = []

    def keep_first_gradients(trained: nn.Module) -> None:
        if not gradients:
            gradients.append([p.grad.clone() for p in trained.parameters()])

    fit(model, task, params, settings, after_step=[keep_first_gradients])

    # One batch holding both batches' pairs, its loss divided by all of its target tokens.
    model.load_state_dict(initial)
    window = task.splits.train.collate([*first_two[0].index, *first_two[1].index])
    assert task.units(window) == sum(units)
    model.train()
    model.zero_grad()
    (task.loss_sum(model, window) / sum(units)).backward()
    for accumulated, whole in zip(gradients[0], model.parameters(), strict=True):
        torch.testing.assert_close(accumulated, whole.grad, rtol=1e-5, atol=1e-7)


class Tokens:
    """A batch of token vectors; the loss is linear in the weights, so its gradient is known."""

    def __init__(self, vectors: torch.Tensor):
        self.vectors = vectors

    def to(self, device: torch.device) -> Tokens:
        return Tokens(self.vectors.to(device))


class LinearTokens:
    """A task of batches of 3, 1 and 2 tokens; the third epoch's loss is NaN when asked."""

    def __init__(self, nan_in_epoch: int | None = None):
        self.sizes, self.nan_in_epoch, self.epoch = (3, 1, 2), nan_in_epoch, 0
        self.vectors = [torch.full((n, 2), float(i + 1)) for i, n in enumerate(self.sizes)]

    def batches(self, generator: torch.Generator) -> list[Tokens]:
        self.epoch += 1
        return [Tokens(v) for v in self.vectors]

    def epoch_examples(self) -> int:
        return sum(self.sizes)

    def examples(self, batch: Tokens) -> int:
        return len(batch.vectors)

    def units(self, batch: Tokens) -> int:
        return len(batch.vectors)

    def tokens(self, batch: Tokens) -> int:
        return len(batch.vectors)

    def padding(self, batch: Tokens) -> None:
        return None

    def loss_sum(self, model: nn.Module, batch: Tokens) -> torch.Tensor:
        loss = model(batch.vectors).sum()
        return loss * float("nan") if self.epoch == self.nan_in_epoch else loss

    def validate(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        return 0.0, {"accuracy": float(model.weight.detach().sum())}

    def validate_subset(self, model: nn.Module) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


def test_the_last_shorter_window_of_an_epoch_weighs_by_its_own_units():
    model = nn.Linear(2, 1, bias=False)
    settings = LoopSettings(max_epochs=1, metric="accuracy", maximize=True, accumulate=2)
    gradients: list[torch.Tensor] = []

    fit(
        model,
        LinearTokens(),
        {"optimizer": "sgd", "momentum": 0.0, "lr": 0.1},
        settings,
        after_step=[lambda trained: gradients.append(trained.weight.grad.clone())],
    )

    # Window 1: 3 tokens of 1s and 1 token of 2s, over 4 units; window 2: 2 tokens of 3s.
    assert [g.tolist() for g in gradients] == [[[1.25, 1.25]], [[3.0, 3.0]]]


def test_a_nan_loss_raises_before_the_step_and_a_spent_time_limit_stops_after_one_step():
    model = nn.Linear(2, 1, bias=False)
    params = {"optimizer": "sgd", "momentum": 0.0, "lr": 0.1}
    settings = LoopSettings(max_epochs=3, metric="accuracy", maximize=True)
    seen: list[int] = []
    with pytest.raises(DivergedError, match="loss became nan in epoch 2"):
        fit(model, LinearTokens(nan_in_epoch=2), params, settings, [lambda r: seen.append(r.epoch)])
    assert seen == [1]
    assert torch.isfinite(model.weight).all()

    steps: list[int] = []
    settings.time_limit = 1e-9
    result = fit(model, LinearTokens(), params, settings, after_step=[lambda m: steps.append(1)])
    assert result.stop_reason == "time_limit"
    assert len(result.history) == 1 and len(steps) == 1


class SlowDev(LinearTokens):
    """100 batches of about 10 ms; all of dev takes 0.4 s to validate, its twentieth 0.02 s."""

    def __init__(self):
        super().__init__()
        self.sizes = (1,) * 100
        self.vectors = [torch.full((1, 2), 1.0) for _ in self.sizes]

    def loss_sum(self, model: nn.Module, batch: Tokens) -> torch.Tensor:
        time.sleep(0.01)
        return super().loss_sum(model, batch)

    def validate(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        time.sleep(0.4)
        return super().validate(model)

    def validate_subset(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        time.sleep(0.02)
        return super().validate(model)

    def validation_examples(self, subset: bool) -> int:
        return 5 if subset else 100


def test_a_cut_in_the_first_epoch_leaves_time_for_all_of_dev_scaled_from_the_subset():
    # The epoch's training alone (1 s) would fill the limit; the report at the cut validates
    # all of dev, which no report has done yet: its time comes from the subset's, 20x.
    settings = LoopSettings(
        max_epochs=1, metric="accuracy", maximize=True, time_limit=1.0, report_every="0.1 epoch"
    )

    params = {"optimizer": "sgd", "momentum": 0.0, "lr": 0.01}
    result = fit(nn.Linear(2, 1, bias=False), SlowDev(), params, settings)

    assert result.stop_reason == "time_limit"
    last = result.history[-1]
    assert not last.subset and last.examples < 100
    assert result.train_seconds + result.val_seconds < 1.1


def test_hpo_train_resumes_a_classifier_to_the_trials_own_weights(workdir, capsys):
    study_file = write_study(
        workdir, training={"max_epochs": 3, "threads": 1}, pruner={"type": "none"}
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "1"]) == 0
    assert main(["train", "--study", str(study_file), "--trial", "0", "--epochs", "2"]) == 0
    capsys.readouterr()

    assert main(["train", "--study", str(study_file), "--trial", "0"]) == 0

    out = capsys.readouterr().out
    assert "epoch 2:" not in out and "epoch 3:" in out and "for 3 epoch(s)" in out
    trained = load_checkpoint(workdir / "runs/tiny/train-0")
    trial = load_checkpoint(workdir / "runs/tiny/trial-0")
    assert (trained["epoch"], trained["value"]) == (trial["epoch"], trial["value"])
    for name, tensor in trial["state_dict"].items():
        assert torch.equal(tensor, trained["state_dict"][name]), name


@pytest.mark.parametrize("amp", [True, False])
def test_amp_trains_and_validates_in_bfloat16_where_the_cpu_has_it(topics, amp):
    model, _, settings = classifier_run(topics)
    settings.max_epochs, settings.amp = 1, amp
    splits, num_classes = topics
    task = ClassificationTask(
        splits.train, splits.dev, batch_size=16, num_classes=num_classes, amp=amp
    )
    seen: set[tuple[bool, torch.dtype]] = set()
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    last.register_forward_hook(lambda m, i, out: seen.add((m.training, out.dtype)))

    fit(model, task, CLASSIFIER, settings)

    computes_in = torch.bfloat16 if amp and cpu_has_bfloat16() else torch.float32
    assert seen == {(True, computes_in), (False, computes_in)}
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize("amp", [True, False])
def test_a_translator_decodes_in_the_precision_it_trains_in(sentence_pairs, amp):
    model, _, settings = translator_run(sentence_pairs)
    settings.max_epochs, settings.amp = 1, amp
    task = translation_task(sentence_pairs, settings, CPU)
    seen: set[tuple[bool, torch.dtype]] = set()
    model.decoder.output.register_forward_hook(lambda m, i, out: seen.add((m.training, out.dtype)))

    fit(model, task, TRANSLATOR, settings)

    computes_in = torch.bfloat16 if amp and cpu_has_bfloat16() else torch.float32
    # Eval mode: the teacher-forced pass for perplexity and greedy decoding for BLEU.
    assert seen == {(True, computes_in), (False, computes_in)}
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.skipif(
    platform.machine() != "x86_64" or not Path("/proc/cpuinfo").is_file(),
    reason="the CPU's flags are read from Linux on x86_64",
)
def test_bfloat16_is_chosen_on_an_x86_cpu_only_where_it_has_the_instructions():
    # Checked against the kernel's own list, not PyTorch's: oneDNN also says yes on an
    # AVX-512 CPU without AVX512-BF16, where it emulates bfloat16 at a third of float32's rate.
    flags = linux_cpu_flags()
    native = bool({"avx512_bf16", "amx_bf16"} & flags)

    assert cpu_has_bfloat16() == native
    assert training_dtype(CPU, amp=True) == (torch.bfloat16 if native else None)


def test_cpu_flags_are_read_from_the_first_processor_of_a_cpuinfo_file(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse avx512f avx512_bf16\n\n"
        "processor\t: 1\nflags\t\t: fpu\n"
    )

    assert linux_cpu_flags(cpuinfo) == {"fpu", "sse", "avx512f", "avx512_bf16"}
    assert linux_cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize("chosen", [None, "2048"], ids=["unset", "set-by-user"])
def test_training_raises_onednns_kernel_limit_unless_the_user_chose_one(
    topics, monkeypatch, chosen
):
    # oneDNN reads the limit when it builds its first kernel: in a study, in the first fit.
    if chosen is None:
        monkeypatch.delenv(KERNEL_CACHE_ENV, raising=False)
    else:
        monkeypatch.setenv(KERNEL_CACHE_ENV, chosen)
    model, task, settings = classifier_run(topics)
    settings.max_epochs = 1

    fit(model, task, CLASSIFIER, settings)

    assert os.environ[KERNEL_CACHE_ENV] == (chosen or str(KERNEL_CACHE_CAPACITY))


@pytest.mark.parametrize("save_delay", [0.0, 0.3])
def test_checkpoints_within_an_epoch_are_skipped_where_writing_them_is_slow(
    topics, tmp_path, monkeypatch, save_delay
):
    model, task, settings = classifier_run(topics)
    settings.max_epochs, settings.report_every = 2, "0.25 epoch"
    written: list[str] = []

    def save_on_a_slow_disk(state, path):
        time.sleep(save_delay)
        save_state(state, path)
        written.append(path.name)

    monkeypatch.setattr("hpo.training.resume.save_state", save_on_a_slow_disk)
    records = fit(model, task, CLASSIFIER, settings, checkpoint_dir=tmp_path).history

    last = written.count(LAST_CHECKPOINT)
    if save_delay == 0.0:  # a small model's checkpoint is cheap: one at every report
        assert last == len(records) == 8
    else:  # the first within an epoch showed what one costs; epochs' ends always write
        assert last == 3
    assert load_state(tmp_path / LAST_CHECKPOINT)["epoch"] == 2


def test_a_new_best_is_written_once_and_best_pt_keeps_it_when_last_pt_moves_on(topics, tmp_path):
    model, task, settings = classifier_run(topics)
    settings.max_epochs, settings.report_every = 2, "0.5 epoch"
    last, best = tmp_path / LAST_CHECKPOINT, tmp_path / BEST_CHECKPOINT
    seen: list[tuple[bool, int]] = []

    def files_before_this_reports_checkpoint(record) -> None:
        if best.is_file():
            seen.append((last.samefile(best), load_state(best)["epoch"]))

    fit(
        model,
        task,
        CLASSIFIER,
        settings,
        [files_before_this_reports_checkpoint],
        None,
        (),
        tmp_path,
    )

    # Epoch 1's end, the first best, wrote one file that both names give; the report within
    # epoch 2 replaced last.pt, and best.pt still held epoch 1.
    assert seen == [(True, 1), (False, 1)]


@pytest.fixture(scope="module")
def many_topics(tmp_path_factory):
    # An epoch of more than 7500 texts: the report at 5000 is over half an interval before
    # the epoch's end.
    return encoded_topics(12000, tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize(
    ("seconds", "within_epoch"), [(30.0, 0), (1e-9, 1)], ids=["fast-run", "slow-run"]
)
def test_auto_reports_within_an_epoch_only_where_5000_examples_take_long(
    many_topics, monkeypatch, seconds, within_epoch
):
    # A tiny CNN trains its first 5000 examples in well under 30 s, so `auto` widens to
    # the epoch; held to (next to) no seconds, the same run keeps a report at 5000.
    monkeypatch.setattr("hpo.training.report_schedule.AUTO_REPORT_SECONDS", seconds)
    model, task, settings = classifier_run(many_topics)
    settings.max_epochs, settings.report_every = 1, "auto"
    assert task.epoch_examples() > 5000
    result = fit(model, task, CLASSIFIER, settings)
    assert [r.subset for r in result.history] == [True] * within_epoch + [False]
    assert result.history[-1].examples == task.epoch_examples()


def test_auto_leaves_a_report_due_near_the_epochs_end_to_the_epochs_own(many_topics, monkeypatch):
    monkeypatch.setattr("hpo.training.report_schedule.AUTO_REPORT_SECONDS", 1e-9)
    model, task, settings = classifier_run(many_topics)
    settings.max_epochs, settings.report_every = 3, "auto"
    epoch = task.epoch_examples()
    assert epoch == 8400

    result = fit(model, task, CLASSIFIER, settings)

    # Every 5000 texts, where that is at least 2500 from an epoch's end: 5000 and 20000
    # (3200 into the third epoch); 10000 comes 1600 after the first epoch's end, 15000 and
    # 25000 come 1800 and 200 before the second's and the third's.
    reports = [(r.subset, r.examples) for r in result.history]
    assert [subset for subset, _ in reports] == [True, False, False, True, False]
    assert 5000 <= reports[0][1] < 5016 and 20000 <= reports[3][1] < 20016
    assert [reports[i][1] for i in (1, 2, 4)] == [epoch, 2 * epoch, 3 * epoch]


@pytest.fixture(scope="module")
def more_pairs_than_the_subset(tmp_path_factory):
    """More dev sentences than the reports within epochs decode."""
    return short_message_pairs(160, 150, tmp_path_factory.mktemp("c"))


@pytest.mark.parametrize("metric", ["bleu", "ppl"])
def test_an_epochs_end_measures_perplexity_on_the_dev_subset_unless_the_metric_is_ppl(
    more_pairs_than_the_subset, metric
):
    splits = more_pairs_than_the_subset
    model, _, _ = translator_run(splits)
    params = {**TRANSLATOR, "teacher_forcing": 1.0}
    settings = Seq2SeqSettings.from_params(params, max_epochs=1, amp=False, seed=7, metric=metric)
    settings.report_every = "1 epoch"

    (record,) = fit_seq2seq(model, splits, params, settings).history

    index = dev_subset(len(splits.dev), DEV_SUBSET_SENTENCES)
    assert index is not None and len(index) < len(splits.dev)
    subset = ParallelDataset(
        [splits.dev.src_ids[i] for i in index], [splits.dev.tgt_ids[i] for i in index]
    )
    on_subset = perplexity(*teacher_forced_nll(model, subset, CPU))
    on_all = perplexity(*teacher_forced_nll(model, splits.dev, CPU))
    assert on_subset != pytest.approx(on_all, rel=1e-3)
    expected = on_all if metric == "ppl" else on_subset
    assert record.metrics["ppl"] == pytest.approx(expected, rel=1e-5)
    # BLEU is of all of dev either way: corpus BLEU is no mean over sentences.
    scores = evaluate_translation(
        model, splits.dev, splits.dev_references, splits.tgt_tokenizer, CPU
    )
    assert record.metrics["bleu"] == pytest.approx(scores.bleu)
