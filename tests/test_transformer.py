"""The Transformer translates as a Transformer should: cached decoding steps give the logits
of the whole target at once, greedy and beam search agree with a reference that recomputes
the whole prefix at every step, padding changes nothing, and a tiny model learns real
English -> German message pairs with the same trainer as the recurrent models."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from hpo.config import TokenizerConfig, TranslationConfig
from hpo.data.gettext_catalogs import message_pairs
from hpo.data.parallel import ParallelTexts, TranslationCorpus
from hpo.data.prepare_translation import PreparedTranslationData
from hpo.data.tokenizer import BOS_ID, EOS_ID, PAD_ID
from hpo.errors import BadInput
from hpo.models.transformer import Transformer
from hpo.space import SearchSpace
from hpo.study.params_check import check_search_space
from hpo.training.builders import inverse_sqrt_factor
from hpo.training.decoding import beam_search, greedy_decode
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq

VARIANTS = [
    dict(positions="sinusoidal", tie_output=True),
    dict(positions="learned", tie_output=False, share_embeddings=True),
]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and the machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


def tiny(vocab: int = 40, **options) -> Transformer:
    options = {"layers": 2, "d_model": 16, "heads": 4, "ff_dim": 32, "dropout": 0.0, **options}
    return Transformer(vocab, vocab, **options).eval()


def source_batch(vocab: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """Three sentences of 6, 4 and 2 tokens, padded."""
    lengths = torch.tensor([6, 4, 2])
    src = torch.randint(EOS_ID + 1, vocab, (3, 6))
    src[torch.arange(6) >= lengths[:, None]] = PAD_ID
    return src, lengths


@dataclass
class Prefix:
    """A reference decoding state: the source and every target token so far, nothing cached."""

    src: torch.Tensor
    lengths: torch.Tensor
    tokens: torch.Tensor

    def select(self, index: torch.Tensor) -> Prefix:
        return Prefix(self.src[index], self.lengths[index], self.tokens[index])

    def repeat(self, times: int) -> Prefix:
        return self.select(torch.arange(self.src.size(0)).repeat_interleave(times))


class Recomputing:
    """The model decoded the slow way: each step runs the whole prefix through it again."""

    def __init__(self, model: Transformer):
        self.model = model

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Prefix:
        return Prefix(src, lengths, src.new_zeros(src.size(0), 0))

    def step(self, prev_tokens: torch.Tensor, state: Prefix) -> tuple[torch.Tensor, Prefix]:
        tokens = torch.cat([state.tokens, prev_tokens[:, None]], dim=1)
        logits = self.model(state.src, state.lengths, tokens)[:, -1]
        return logits, Prefix(state.src, state.lengths, tokens)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v["positions"])
def test_cached_steps_give_the_logits_of_the_whole_target_at_once(variant):
    # Four sinusoidal positions to begin with: the table grows when decoding runs past them.
    model = tiny(max_positions=4, **variant)
    src, lengths = source_batch()
    tgt_in = torch.randint(EOS_ID + 1, 40, (3, 9))
    tgt_in[:, 0] = BOS_ID

    with torch.no_grad():
        whole = model(src, lengths, tgt_in)
        state = model.encode(src, lengths)
        steps = []
        for t in range(tgt_in.size(1)):
            logits, state = model.step(tgt_in[:, t], state)
            steps.append(logits)

    torch.testing.assert_close(torch.stack(steps, dim=1), whole)
    assert state.position == 9 and state.keys[0].shape == (3, 4, 9, 4)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v["positions"])
def test_greedy_and_beam_search_agree_with_recomputing_the_whole_prefix(variant):
    model = tiny(**variant)
    src, lengths = source_batch()
    reference = Recomputing(model)

    greedy = greedy_decode(model, src, lengths, ratio=1.0, offset=4)
    assert greedy == greedy_decode(reference, src, lengths, ratio=1.0, offset=4)
    assert [len(ids) for ids in greedy] == [10, 8, 6]  # a random model never says EOS
    for beam in (2, 4):
        ids = beam_search(model, src, lengths, beam, ratio=1.0, offset=4)
        assert ids == beam_search(reference, src, lengths, beam, ratio=1.0, offset=4)
    assert beam_search(model, src, lengths, beam_size=1, ratio=1.0, offset=4) == greedy


def test_a_sentence_is_translated_alone_as_in_a_padded_batch():
    model = tiny()
    src, lengths = source_batch()
    short = src[2:, :2]  # the two-token sentence without its padding
    tgt_in = torch.tensor([[BOS_ID, 7, 8, 9]])

    with torch.no_grad():
        in_batch = model(src, lengths, tgt_in.expand(3, -1))[2]
        alone = model(short, lengths[2:], tgt_in)[0]

    torch.testing.assert_close(in_batch, alone)
    assert greedy_decode(model, src, lengths)[2] == greedy_decode(model, short, lengths[2:])[0]


def test_the_constructor_shares_and_ties_embeddings_and_refuses_what_cannot_work():
    shared = Transformer(30, 30, d_model=8, heads=2, ff_dim=16, share_embeddings=True)
    assert shared.src_embedding is shared.tgt_embedding
    assert shared.output.weight is shared.tgt_embedding.weight
    separate = Transformer(30, 40, d_model=8, heads=2, ff_dim=16, tie_output=False)
    assert separate.src_embedding is not separate.tgt_embedding
    assert separate.output.weight is not separate.tgt_embedding.weight
    with pytest.raises(ValueError, match="share_embeddings needs vocabularies of one size"):
        Transformer(30, 40, share_embeddings=True)
    with pytest.raises(ValueError, match="d_model 10 is not a multiple of heads 4"):
        Transformer(30, 40, d_model=10, heads=4)
    with pytest.raises(ValueError, match="unknown positions 'rotary'"):
        Transformer(30, 40, positions="rotary")
    with pytest.raises(ValueError, match="full teacher forcing"):
        separate(torch.tensor([[5]]), torch.tensor([1]), torch.tensor([[BOS_ID]]), 0.5)


def real_pairs(n: int, tmp_path: Path):
    """``n`` short English -> German gettext messages, encoded; dev is the training set."""
    pairs = message_pairs("de")
    if len(pairs) < 1000 and not os.environ.get("CI"):
        pytest.skip("needs German gettext catalogs (/usr/share/locale/de)")
    chosen = [p for p in pairs if len(p[0].split()) <= 3 and len(p[0]) <= 20][:n]
    texts = ParallelTexts([en for en, _ in chosen], [de for _, de in chosen])
    corpus = TranslationCorpus(texts, texts, None, "gettext", "en", "de")
    data = PreparedTranslationData(
        corpus, TokenizerConfig(vocab_size=100), TranslationConfig(), tmp_path / "cache"
    )
    return data.encoded()


def transformer_for(splits, **options) -> Transformer:
    options = {"layers": 2, "d_model": 32, "heads": 4, "ff_dim": 64, **options}
    return Transformer(splits.src_tokenizer.vocab_size, splits.tgt_tokenizer.vocab_size, **options)


def test_a_tiny_transformer_learns_real_pairs_with_the_translation_trainer(tmp_path):
    splits = real_pairs(24, tmp_path)
    params = dict(lr=0.01, lr_schedule="inverse_sqrt", warmup_steps=10, batch_tokens=100)
    params.update(label_smoothing=0.1)
    settings = Seq2SeqSettings.from_params(params, max_epochs=25, amp=False)
    model = transformer_for(splits, dropout=0.0)

    result = fit_seq2seq(model, splits, params, settings)

    losses = [r.train_loss for r in result.history]
    assert losses[-1] < 0.25 * losses[0], losses
    # Greedy decoding of the training sentences (dev = train) reads as their references.
    assert result.history[-1].metrics["bleu"] > 80, [r.metrics for r in result.history]


def test_inverse_sqrt_warms_up_then_decays_and_a_resumed_run_stays_on_the_curve(tmp_path):
    splits = real_pairs(24, tmp_path)
    steps = len(list(splits.train.batches(100)))
    params = dict(lr=0.01, lr_schedule="inverse_sqrt", warmup_steps=steps + 1, batch_tokens=100)
    settings = Seq2SeqSettings.from_params(params, max_epochs=3, amp=False)

    result = fit_seq2seq(transformer_for(splits), splits, params, settings)

    # Still warming up at the end of epoch 1; past the peak by epoch 2, then falling.
    lrs = [r.lr for r in result.history]
    expected = [0.01 * inverse_sqrt_factor(e * steps, steps + 1) for e in (1, 2, 3)]
    assert lrs == pytest.approx(expected)
    assert lrs[0] < 0.01 and lrs[1] > lrs[2]

    def stop_in_epoch_3(record):
        if record.epoch == 3:
            raise KeyboardInterrupt

    directory = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        fit_seq2seq(
            transformer_for(splits), splits, params, settings, [stop_in_epoch_3], None, directory
        )
    resumed = fit_seq2seq(
        transformer_for(splits), splits, params, settings, checkpoint_dir=directory, resume=True
    )
    assert [r.epoch for r in resumed.history] == [1, 2, 3]
    assert [r.lr for r in resumed.history] == pytest.approx(lrs)


def test_translation_spaces_may_ask_for_inverse_sqrt_and_classifier_spaces_may_not():
    schedules = {"type": "categorical", "choices": ["inverse_sqrt", "cosine"]}
    space = SearchSpace.model_validate({"params": {"lr_schedule": schedules, "warmup_steps": 8}})

    check_search_space(space, "translation")
    # The classifier trainer steps its schedule per epoch: it has no inverse_sqrt.
    with pytest.raises(BadInput, match="lr_schedule value 'inverse_sqrt' is not one of"):
        check_search_space(space, "classification")


def test_in_bfloat16_on_a_cpu_attention_is_pytorchs_own_to_rounding(monkeypatch):
    # hpo picks the plain kernel there (hpo.models.multi_head_attention.kernel_for) where
    # PyTorch would pick its fused one: masks, the causal order and the gradients must be
    # the same as the fused kernel's, to bfloat16's rounding.
    import contextlib

    from torch.nn.attention import SDPBackend, sdpa_kernel

    from hpo.models import multi_head_attention

    model = Transformer(50, 60, layers=2, d_model=32, heads=4, ff_dim=64, dropout=0.0)
    src = torch.tensor([[5, 6, 7, 8], [9, 10, PAD_ID, PAD_ID]])
    tgt = torch.tensor([[BOS_ID, 11, 12], [BOS_ID, 13, PAD_ID]])

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(src, torch.tensor([4, 2]), tgt).float()
        logits[tgt != PAD_ID].logsumexp(-1).sum().backward()
        grad = model.encoder_layers[0].self_attention.query.weight.grad
        assert grad is not None
        return logits.detach(), grad.clone()

    ours = run()
    with monkeypatch.context() as patch, sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        patch.setattr(multi_head_attention, "kernel_for", lambda q: contextlib.nullcontext())
        fused = run()
    assert not torch.equal(ours[1], fused[1])  # two kernels ran, rounding apart
    # Apart by rounding (about 0.5% of the largest logit, 3% of the largest gradient), not
    # by a mask (a padded source read as tokens moves them by about 30% and 70%).
    for mine, theirs in zip(ours, fused, strict=True):
        assert (mine - theirs).abs().max() <= 0.1 * mine.abs().max()
