"""Translation models learn: a tiny seq2seq model overfits real English -> German messages of
the gettext catalogs, greedy and beam decoding agree, and every model choice trains."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from hpo.config import TokenizerConfig, TranslationConfig
from hpo.data.gettext_catalogs import message_pairs
from hpo.data.parallel import ParallelTexts, TranslationCorpus
from hpo.data.prepare_translation import PreparedTranslationData
from hpo.data.seq2seq_batching import ParallelDataset, token_budget_batches
from hpo.models import build
from hpo.training.decoding import beam_search, greedy_decode
from hpo.training.metrics import corpus_bleu
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq
from hpo.training.translation_eval import translate_dataset

pairs = message_pairs("de")
if len(pairs) < 1000 and not os.environ.get("CI"):
    pytest.skip("needs German gettext catalogs (/usr/share/locale/de)", allow_module_level=True)

CPU = torch.device("cpu")
SIZES = {"src_vocab_size": 30, "tgt_vocab_size": 40}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and the machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


def short_pairs(n: int) -> ParallelTexts:
    chosen = [p for p in pairs if len(p[0].split()) <= 3 and len(p[0]) <= 20][:n]
    return ParallelTexts([en for en, _ in chosen], [de for _, de in chosen])


def prepared(texts: ParallelTexts, tmp_path: Path, vocab: int, dev: ParallelTexts | None = None):
    corpus = TranslationCorpus(texts, dev or texts, None, "gettext", "en", "de")
    data = PreparedTranslationData(
        corpus, TokenizerConfig(vocab_size=vocab), TranslationConfig(), tmp_path / "cache"
    )
    return data.encoded()


def model_for(splits, **params):
    return build(
        "translation",
        params,
        src_vocab_size=splits.src_tokenizer.vocab_size,
        tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
    )


def test_a_tiny_model_overfits_real_sentence_pairs(tmp_path):
    texts = short_pairs(200)
    splits = prepared(texts, tmp_path, vocab=250)  # dev = train: can it memorise them?
    params = dict(cell="gru", embedding_dim=64, hidden_size=128, attention="additive")
    params.update(dropout=0.0, lr=0.01, batch_tokens=400)
    model = model_for(splits, **params)
    settings = Seq2SeqSettings.from_params(params, max_epochs=14, amp=False)

    result = fit_seq2seq(model, splits, params, settings)

    bleu = [r.metrics["bleu"] for r in result.history]
    assert bleu[-1] > 80, bleu
    assert result.signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    # The decoded, detokenized output reads as the German references themselves.
    model.load_state_dict(result.best_state)
    greedy = translate_dataset(model, splits.dev, splits.tgt_tokenizer, CPU)
    assert corpus_bleu(greedy, texts.tgt).value == result.best_value
    assert sum(h == r for h, r in zip(greedy, texts.tgt, strict=True)) > 0.7 * len(texts)
    # Beam search with one beam takes exactly the greedy path; wider beams do as well.
    beam_1 = translate_dataset(model, splits.dev, splits.tgt_tokenizer, CPU, beam_size=1)
    batch = splits.dev.collate(list(range(len(splits.dev))))
    assert beam_search(model, batch.src, batch.src_lengths, beam_size=1) == greedy_decode(
        model, batch.src, batch.src_lengths
    )
    assert beam_1 == greedy
    beam_4 = translate_dataset(model, splits.dev, splits.tgt_tokenizer, CPU, beam_size=4)
    assert corpus_bleu(beam_4, texts.tgt).value > 80


MODEL_CHOICES = [
    dict(cell="lstm", attention="none"),
    dict(cell="gru", attention="additive"),
    dict(cell="lstm", attention="multiplicative"),
    dict(cell="lstm", attention="additive", bidirectional=True, num_layers=2, residual=True),
    dict(cell="gru", attention="multiplicative", num_layers=3, residual=True),
    dict(cell="gru", attention="none", bidirectional=True, tie_embeddings=True),
    dict(cell="lstm", attention="additive", tie_embeddings=True, embedding_dim=24),
]


@pytest.mark.parametrize("choice", MODEL_CHOICES, ids=lambda c: "-".join(map(str, c.values())))
def test_every_model_choice_builds_trains_and_decodes(tmp_path, choice):
    splits = prepared(short_pairs(60), tmp_path, vocab=120)
    params = {"embedding_dim": 16, "hidden_size": 16, "dropout": 0.1, "lr": 0.01, **choice}
    params.update(batch_tokens=200, teacher_forcing=0.5, label_smoothing=0.1, accumulate=2)
    model = model_for(splits, **params)
    before = [p.detach().clone() for p in model.parameters()]
    settings = Seq2SeqSettings.from_params(params, max_epochs=1, amp=False)

    result = fit_seq2seq(model, splits, params, settings)

    record = result.history[0]
    assert torch.isfinite(torch.tensor(record.train_loss))
    assert 0.0 <= record.padding < 1.0
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    if choice.get("tie_embeddings"):
        assert model.decoder.output.weight is model.decoder.embedding.weight
    batch = splits.dev.collate([0, 1, 2])
    assert len(greedy_decode(model, batch.src, batch.src_lengths)) == 3
    beams = beam_search(model, batch.src, batch.src_lengths, beam_size=3)
    assert len(beams) == 3
    limit = int(1.5 * int(batch.src_lengths.max()) + 10)
    assert all(len(ids) <= limit for ids in beams)


@pytest.mark.parametrize("choice", MODEL_CHOICES[:4], ids=lambda c: "-".join(map(str, c.values())))
def test_padding_changes_nothing_a_sentence_is_translated_alone_or_in_a_batch(tmp_path, choice):
    splits = prepared(short_pairs(60), tmp_path, vocab=120)
    model = model_for(splits, embedding_dim=16, hidden_size=16, dropout=0.0, **choice).eval()
    short, long = splits.dev.src_ids[0], [*splits.dev.src_ids[1], *splits.dev.src_ids[2]]
    alone = ParallelDataset([short], [[]]).collate([0])
    padded = ParallelDataset([long, short], [[], []]).collate([0, 1])
    assert padded.src.shape[1] > alone.src.shape[1]
    with torch.no_grad():
        state_alone = model.encode(alone.src, alone.src_lengths)
        state_padded = model.encode(padded.src, padded.src_lengths)
    # The encoder's final state is that of the last real token, not of the padding after it.
    torch.testing.assert_close(state_padded.hidden[:, 1], state_alone.hidden[:, 0])
    # And attention gives padding no weight: the decoded sentence is the same.
    assert (
        greedy_decode(model, padded.src, padded.src_lengths)[1]
        == greedy_decode(model, alone.src, alone.src_lengths)[0]
    )


@pytest.mark.parametrize("attention", ["none", "multiplicative", "additive"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_under_full_teacher_forcing_the_decoder_runs_the_target_in_one_call(
    cell, num_layers, attention
):
    params = dict(cell=cell, num_layers=num_layers, attention=attention, residual=True)
    params.update(embedding_dim=8, hidden_size=12, bidirectional=True, dropout=0.0)
    model = build("translation", params, **SIZES)
    src, lengths = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[2, 11, 12, 13, 14], [2, 15, 16, 0, 0]])
    # Additive attention's recurrence steps through the target; its output layer, as the
    # others' whole decoder, runs once.
    assert model.decoder.runs_whole_sequences == (attention != "additive")

    whole = model(src, lengths, tgt_in)  # teacher forcing 1: one call per layer
    state, steps = model.encode(src, lengths), []
    for t in range(tgt_in.size(1)):
        logits, state = model.step(tgt_in[:, t], state)
        steps.append(logits)
    stepped = torch.stack(steps, dim=1)

    torch.testing.assert_close(whole, stepped)
    # And it trains the same weights: the gradients of both paths agree.
    whole_grads = torch.autograd.grad(whole.logsumexp(-1).sum(), list(model.parameters()))
    step_grads = torch.autograd.grad(stepped.logsumexp(-1).sum(), list(model.parameters()))
    for a, b in zip(whole_grads, step_grads, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "params",
    [
        {"arch": "rnn", "attention": "multiplicative", "hidden_size": 12},
        {"arch": "rnn", "attention": "additive", "hidden_size": 12},
        {"arch": "rnn", "attention": "none", "hidden_size": 12, "tie_embeddings": True},
        {"arch": "transformer", "layers": 1, "d_model": 16, "heads": 2, "ff_dim": 32},
    ],
    ids=["multiplicative", "additive", "tied", "transformer"],
)
def test_logits_at_real_target_positions_only_are_those_of_the_whole_batch(params):
    # Training asks for the logits of real target tokens only (padding skips the output
    # layer); they must be the full batch's at those positions, in row-major order.
    model = build("translation", {**params, "dropout": 0.0}, **SIZES)
    src, lengths = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[2, 11, 12, 13, 14], [2, 15, 16, 0, 0]])
    real = tgt_in != 0

    kept = model(src, lengths, tgt_in, 1.0, real)

    assert kept.shape == (int(real.sum()), model(src, lengths, tgt_in).size(-1))
    torch.testing.assert_close(kept, model(src, lengths, tgt_in)[real])


def test_batches_stay_within_the_token_budget_and_change_order_per_epoch():
    src = [len(s.split()) + 1 for s in short_pairs(300).src]
    tgt = [n + 2 for n in src]
    generator = torch.Generator().manual_seed(3)
    first = token_budget_batches(src, tgt, 60, generator)
    second = token_budget_batches(src, tgt, 60, generator)
    for batches in (first, second):
        assert sorted(i for b in batches for i in b) == list(range(300))
        for b in batches:
            assert len(b) * max(max(src[i], tgt[i]) for i in b) <= 60
    assert first != second


def test_length_filtering_drops_long_training_pairs_only(tmp_path):
    texts = short_pairs(50)
    long_pair = ("word " * 40).strip(), ("Wort " * 40).strip()
    train = ParallelTexts([*texts.src, long_pair[0]], [*texts.tgt, long_pair[1]])
    dev = ParallelTexts([long_pair[0]], [long_pair[1]])
    corpus = TranslationCorpus(train, dev, None, "gettext", "en", "de")
    data = PreparedTranslationData(
        corpus,
        TokenizerConfig(vocab_size=100),
        TranslationConfig(max_tokens=30, max_ratio=50),
        tmp_path,
    )
    splits = data.encoded()
    assert len(splits.train) == 50
    assert len(splits.dev) == 1 and len(splits.dev.src_ids[0]) > 30
    assert splits.dev_references == [long_pair[1]]


def test_the_learning_rate_warms_up_then_follows_the_plateau_schedule(tmp_path):
    splits = prepared(short_pairs(60), tmp_path, vocab=120)
    params = dict(embedding_dim=16, hidden_size=16, lr=0.01, batch_tokens=200)
    params.update(warmup_steps=1000, lr_schedule="plateau", plateau_patience=0)
    model = model_for(splits, **params)
    settings = Seq2SeqSettings.from_params(params, max_epochs=2, amp=False)

    result = fit_seq2seq(model, splits, params, settings, checkpoint_dir=tmp_path / "ckpt")

    steps = len(list(splits.train.batches(200)))
    assert result.history[0].lr == pytest.approx(0.01 * steps / 1000)
    assert result.history[1].lr == pytest.approx(0.01 * 2 * steps / 1000)
    last = torch.load(tmp_path / "ckpt/last.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "epoch", "step"} <= set(last)
    assert last["step"] == 2 * steps and last["scheduler"] is not None


def test_cosine_after_warm_up_follows_the_exact_curve_and_resumes_on_it(tmp_path):
    splits = prepared(short_pairs(60), tmp_path, vocab=120)
    steps = len(list(splits.train.batches(200)))
    params = dict(embedding_dim=16, hidden_size=16, lr=0.01, batch_tokens=200)
    params.update(warmup_steps=steps + steps // 2, lr_schedule="cosine")
    settings = Seq2SeqSettings.from_params(params, max_epochs=3, amp=False)

    result = fit_seq2seq(model_for(splits, **params), splits, params, settings)

    # Epoch 1 ends in warm-up; from epoch 2 on the cosine shares of 3 epochs: 3/4, then 1/4.
    lrs = [r.lr for r in result.history]
    assert lrs == pytest.approx([0.01 * steps / params["warmup_steps"], 0.0075, 0.0025])

    # Stopped after 2 epochs (the third is cut short before its checkpoint) and resumed,
    # the run stays on the same curve.
    def stop_in_epoch_3(record):
        if record.epoch == 3:
            raise KeyboardInterrupt

    directory = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        fit_seq2seq(
            model_for(splits, **params),
            splits,
            params,
            settings,
            [stop_in_epoch_3],
            None,
            directory,
        )
    resumed = fit_seq2seq(
        model_for(splits, **params), splits, params, settings, checkpoint_dir=directory, resume=True
    )
    assert [r.epoch for r in resumed.history] == [1, 2, 3]
    assert [r.lr for r in resumed.history] == pytest.approx(lrs)


def test_a_checkpoint_holds_the_random_state_of_the_devices_it_trained_on(tmp_path):
    splits = prepared(short_pairs(60), tmp_path, vocab=120)
    params = dict(embedding_dim=16, hidden_size=16, dropout=0.3, lr=0.01, batch_tokens=200)
    settings = Seq2SeqSettings.from_params(params, max_epochs=2, amp=False)
    directory = tmp_path / "ckpt"

    fit_seq2seq(model_for(splits, **params), splits, params, settings, checkpoint_dir=directory)

    # The CPU generator as training left it; on CPU there is no CUDA generator to keep.
    last = torch.load(directory / "last.pt", weights_only=True)
    assert torch.equal(last["torch_rng"], torch.get_rng_state())
    assert "cuda_rng" in last and last["cuda_rng"] is None

    # A checkpoint written before the CUDA generators were saved still resumes.
    del last["cuda_rng"]
    last["epoch"] = 1
    last["history"] = last["history"][:1]
    torch.save(last, directory / "last.pt")
    resumed = fit_seq2seq(
        model_for(splits, **params), splits, params, settings, checkpoint_dir=directory, resume=True
    )
    assert [r.epoch for r in resumed.history] == [1, 2]
