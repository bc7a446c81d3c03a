"""Training throughput of hpo's translation models against a plain PyTorch loop.

The plain loop trains a plain encoder-decoder as any PyTorch tutorial writes it: a 2-layer
LSTM encoder whose final states start a 2-layer LSTM decoder that runs the whole target in
one call (teacher forcing 1), then a linear layer over the target vocabulary. It runs on
the notebooks' batching, random batches of a fixed number of sentences padded to their
longest, and on length-sorted batches of as many sentences. hpo trains, with its own
trainer and token-budget batches, its recurrent model of the same sizes (no attention, so
its decoder also runs in one call) and its Transformer at about the same parameter count.

All train ``--epochs`` epochs (one by default) on the same real Japanese -> English pairs
(the gettext catalogs' messages), with the same sentencepiece models and threads. Reported:
target tokens per second, the padding share, and each run's ratio to the plain loop on
random and on sorted batches; with more than one epoch, for the first epoch and for the
later ones apart: a kernel built at a batch shape's first use (oneDNN's bfloat16 products
on a CPU) is paid in the first epoch, and a study trains many. On CUDA every loop runs
under autocast, as hpo's trainer does. On a CPU with native bfloat16, where hpo's trainer
autocasts to it by default, hpo's models also train in float32 and the plain loop on
sorted batches in bfloat16 (autocast by hand), for what the precision alone is worth.

    python benchmarks/translation_throughput.py [--pairs 12600] [--threads 2] [--device cpu]
        [--warm-up 1] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

# The contenders take turns in one process, and oneDNN keeps the kernels it built per shape
# in one cache of 1024 by default: seven models' shapes evicted each other's, which a study
# (one model at a time) never sees. Read when oneDNN builds its first kernel.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "65536")

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

from hpo.data.gettext_catalogs import message_pairs
from hpo.data.prepare_translation import TranslationSplits
from hpo.data.seq2seq_batching import ParallelDataset, token_budget_batches
from hpo.data.tokenizer import PAD_ID, Tokenizer, train_sentencepiece
from hpo.models import build, count_parameters
from hpo.models.transformer import Transformer
from hpo.training.precision import training_dtype
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq

SIZE = {"embedding_dim": 256, "hidden_size": 256, "num_layers": 2, "dropout": 0.1}
PARAMS = {"cell": "lstm", "attention": "none", **SIZE, "optimizer": "adam", "lr": 1e-3}
# About the recurrent models' parameter count with 8k vocabularies (printed by the run).
TRANSFORMER = {"layers": 2, "d_model": 256, "heads": 4, "ff_dim": 1024, "dropout": 0.1}
TRANSFORMER_TRAINING = {"optimizer": "adam", "lr": 5e-4, "lr_schedule": "inverse_sqrt",
                        "warmup_steps": 4000}  # fmt: skip


class PlainSeq2Seq(nn.Module):
    """The tutorial encoder-decoder: embeddings, stacked LSTMs, the decoder in one call."""

    def __init__(self, src_vocab: int, tgt_vocab: int, embedding_dim: int, hidden_size: int,
                 num_layers: int, dropout: float):  # fmt: skip
        super().__init__()
        self.src_embedding = nn.Embedding(src_vocab, embedding_dim, padding_idx=PAD_ID)
        self.tgt_embedding = nn.Embedding(tgt_vocab, embedding_dim, padding_idx=PAD_ID)
        self.encoder = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout)  # fmt: skip
        self.decoder = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout)  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size, tgt_vocab)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(self.dropout(self.src_embedding(src)))
        out, _ = self.decoder(self.dropout(self.tgt_embedding(tgt_in)), state)
        return self.output(self.dropout(out))


def splits_from_pairs(pairs, directory: Path, vocab_size: int = 4000) -> TranslationSplits:
    """Tokenizers trained on every pair; the pairs encoded as the training split."""
    src = [s for s, _ in pairs]
    tgt = [t for _, t in pairs]
    src_tok = Tokenizer(train_sentencepiece(src, directory, vocab_size=vocab_size))
    tgt_tok = Tokenizer(train_sentencepiece(tgt, directory, vocab_size=vocab_size))
    train = ParallelDataset(src_tok.encode(src), tgt_tok.encode(tgt))
    dev = ParallelDataset(src_tok.encode(src[:8]), tgt_tok.encode(tgt[:8]))
    return TranslationSplits(
        src_tokenizer=src_tok,
        tgt_tokenizer=tgt_tok,
        train=train,
        dev=dev,
        dev_references=tgt[:8],
        test=None,
        test_references=None,
    )


def shard(splits: TranslationSplits, index: list[int]) -> TranslationSplits:
    """The same splits with the training pairs ``index`` only, in that order."""
    train = splits.train
    part = ParallelDataset([train.src_ids[i] for i in index], [train.tgt_ids[i] for i in index])
    return replace(splits, train=part)


def plain_batches(data: ParallelDataset, size: int, sort: bool, seed: int) -> list[list[int]]:
    """Batches of ``size`` sentences: drawn at random, or of neighbouring lengths."""
    rng = random.Random(seed)
    order = list(range(len(data)))
    rng.shuffle(order)
    if sort:
        order.sort(key=lambda i: (len(data.src_ids[i]), len(data.tgt_ids[i])))
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


@dataclass
class Run:
    """What one contender trained: target tokens, seconds, real and padded positions."""

    name: str
    n_params: int
    tokens: int = 0
    seconds: float = 0.0
    real: int = 0
    padded: int = 0

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds

    @property
    def padding(self) -> float:
        return 1 - self.real / self.padded


class PlainLoop:
    """The tutorials' training loop: Adam, mean cross-entropy, clipping; nothing else."""

    def __init__(self, model: PlainSeq2Seq, device, lr: float, bfloat16: bool = False):
        self.model, self.device = model.to(device), device
        # As a user would turn it on by hand: autocast to bfloat16 on the CPU.
        self.bfloat16 = bfloat16
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID)

    def train(self, data: ParallelDataset, batches: list[list[int]], run: Run) -> None:
        self.model.train()
        start = time.perf_counter()
        for index in batches:
            batch = data.collate(index).to(self.device)
            self.optimizer.zero_grad()
            with (
                torch.autocast(self.device.type, enabled=self.device.type == "cuda"),
                torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16),
            ):
                logits = self.model(batch.src, batch.tgt_in)
                loss = self.loss_fn(logits.float().flatten(0, 1), batch.tgt_out.flatten())
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            run.tokens += batch.n_tgt_tokens
            run.real, run.padded = run.real + batch.n_real, run.padded + batch.n_padded
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        run.seconds += time.perf_counter() - start


def hpo_epoch(
    model: nn.Module, splits, params, batch_tokens: int, device, run: Run, amp: bool = True
) -> None:
    """One epoch of hpo's trainer (its validation is not counted); ``amp``: its default
    mixed precision (bfloat16 on a CPU that has it, :mod:`hpo.training.precision`)."""
    settings = Seq2SeqSettings(
        max_epochs=1, batch_tokens=batch_tokens, seed=0, clip_grad=1.0, amp=amp
    )
    record = fit_seq2seq(model, splits, params, settings, device=device).history[0]
    tokens = sum(len(t) + 1 for t in splits.train.tgt_ids)
    run.tokens += tokens
    run.seconds += tokens / record.tokens_per_s
    # The padding share weighs each round by its padded size, as the plain loop counts it.
    pairs = zip(splits.train.src_ids, splits.train.tgt_ids, strict=True)
    real = sum(len(s) + len(t) + 1 for s, t in pairs)
    run.real += real
    run.padded += round(real / (1 - record.padding))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12600, help="pairs trained on")
    parser.add_argument("--rounds", type=int, default=4, help="turns the contenders take")
    parser.add_argument(
        "--warm-up", type=int, default=0, help="parts each contender trains first, untimed"
    )
    parser.add_argument("--epochs", type=int, default=1, help="epochs each contender trains")
    parser.add_argument("--vocab-size", type=int, default=8000, help="sentencepiece, per side")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per plain batch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(machine(), f"| {args.threads} threads, device {device}")

    # Tokenizers learn from every pair of the catalogs; --pairs of them are trained on.
    pairs = [(ja, en) for en, ja in message_pairs("ja")]
    random.Random(0).shuffle(pairs)
    with tempfile.TemporaryDirectory() as tmp:
        splits = splits_from_pairs(pairs, Path(tmp), args.vocab_size)
    data = splits.train
    src_vocab, tgt_vocab = splits.src_tokenizer.vocab_size, splits.tgt_tokenizer.vocab_size
    n = min(args.pairs, len(data))
    # The same amount of text per step on both sides: the token budget holds about as many
    # sentences as a plain batch of --batch-size sentences.
    longest = [max(len(data.src_ids[i]), len(data.tgt_ids[i]) + 1) for i in range(n)]
    batch_tokens = int(args.batch_size * sum(longest) / n)
    print(
        f"{n} ja->en pairs in {args.rounds} rounds, vocabularies {src_vocab}/{tgt_vocab}, "
        f"plain batches of {args.batch_size} sentences, hpo batches of <= {batch_tokens} tokens"
    )

    def plain() -> PlainSeq2Seq:
        torch.manual_seed(0)
        return PlainSeq2Seq(src_vocab, tgt_vocab, **SIZE)

    def rnn() -> nn.Module:
        torch.manual_seed(0)
        return build("translation", PARAMS, src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab)

    def transformer() -> nn.Module:
        torch.manual_seed(0)
        return Transformer(src_vocab, tgt_vocab, **TRANSFORMER)

    subset = shard(splits, list(range(n)))
    random_batches = plain_batches(subset.train, args.batch_size, sort=False, seed=0)
    sorted_batches = plain_batches(subset.train, args.batch_size, sort=True, seed=0)
    loops = {
        "plain, random batches": (PlainLoop(plain(), device, 1e-3), random_batches),
        "plain, sorted batches": (PlainLoop(plain(), device, 1e-3), sorted_batches),
    }
    models = {
        "hpo LSTM": (rnn(), PARAMS, True),
        "hpo Transformer": (transformer(), TRANSFORMER_TRAINING, True),
    }
    if device.type == "cpu" and training_dtype(device, amp=True) == torch.bfloat16:
        # What of hpo's rate is its default mixed precision, and what a plain loop gets
        # from the same by hand.
        bf16 = PlainLoop(plain(), device, 1e-3, bfloat16=True)
        loops["plain, sorted, bfloat16"] = (bf16, sorted_batches)
        models["hpo LSTM, float32"] = (rnn(), PARAMS, False)
        models["hpo Transformer, float32"] = (transformer(), TRANSFORMER_TRAINING, False)
    names = {name: count_parameters(loop.model) for name, (loop, _) in loops.items()}
    names.update({name: count_parameters(m) for name, (m, _, _) in models.items()})
    generator = torch.Generator().manual_seed(0)
    hpo_batches = token_budget_batches(
        [len(s) for s in subset.train.src_ids],
        [len(t) + 1 for t in subset.train.tgt_ids],
        batch_tokens,
        generator,
    )

    # The contenders take turns, every batch list cut into --rounds parts, so that a change
    # of the machine's load during the run slows them all alike. Batches are made over all
    # the pairs first; hpo's trainer gets the pairs of its part's batches, which it batches
    # again into the same neighbours. The first --warm-up parts are trained untimed: a long
    # run meets each batch shape many times, and some kernels are built at a shape's first.
    # Each epoch goes through the same parts again, in the same turns.
    epochs = [{name: Run(name, n) for name, n in names.items()} for _ in range(args.epochs)]
    schedule = [(0, r % args.rounds, False) for r in range(args.warm_up)]
    schedule += [(e, r, True) for e in range(args.epochs) for r in range(args.rounds)]
    for epoch, r, timed in schedule:
        runs = epochs[epoch]
        for name, (loop, batches) in loops.items():
            run = runs[name] if timed else replace(runs[name])
            loop.train(subset.train, batches[r :: args.rounds], run)
        part = shard(subset, sorted(i for batch in hpo_batches[r :: args.rounds] for i in batch))
        for name, (model, params, amp) in models.items():
            run = runs[name] if timed else replace(runs[name])
            hpo_epoch(model, part, params, batch_tokens, device, run, amp)

    print_table(epochs[0], "epoch 1" if args.epochs > 1 else "")
    if args.epochs > 1:
        later = {name: sum_runs([runs[name] for runs in epochs[1:]]) for name in names}
        print_table(later, f"epochs 2-{args.epochs}")


def sum_runs(runs: list[Run]) -> Run:
    """One contender's runs as one."""
    total = replace(runs[0])
    for run in runs[1:]:
        total.tokens, total.seconds = total.tokens + run.tokens, total.seconds + run.seconds
        total.real, total.padded = total.real + run.real, total.padded + run.padded
    return total


def print_table(runs: dict[str, Run], title: str) -> None:
    """Rates, padding and the ratios to the plain loop on random and on sorted batches."""
    random_rate = runs["plain, random batches"].rate
    sorted_rate = runs["plain, sorted batches"].rate
    print(
        f"{title:24} {'params':>7} {'tgt tok/s':>10} {'padding':>8} {'/random':>8} {'/sorted':>8}"
    )
    for run in runs.values():
        print(
            f"{run.name:24} {run.n_params / 1e6:6.1f}M {run.rate:10.0f} {100 * run.padding:7.1f}% "
            f"{run.rate / random_rate:7.2f}x {run.rate / sorted_rate:7.2f}x"
        )


if __name__ == "__main__":
    main()
