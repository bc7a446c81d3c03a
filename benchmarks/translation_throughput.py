"""Training throughput of hpo's seq2seq trainer against a plain PyTorch loop.

Both train the same encoder-decoder (same size, same sentencepiece models, same real
English->German pairs of the gettext catalogs) on the same number of threads. The plain
loop is that of the seq2seq notebooks: random batches of a fixed number of sentences,
padded to their longest sentence. hpo batches sentences of similar lengths under a token
budget. Reported: target tokens per second of training, and the padding fraction.

    python benchmarks/translation_throughput.py [--pairs 6000] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

from hpo.data.gettext_catalogs import message_pairs
from hpo.data.prepare_translation import TranslationSplits
from hpo.data.seq2seq_batching import ParallelDataset
from hpo.data.tokenizer import PAD_ID, Tokenizer, train_sentencepiece
from hpo.models import build
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq

PARAMS = {
    "cell": "lstm",
    "embedding_dim": 128,
    "hidden_size": 256,
    "num_layers": 1,
    "bidirectional": True,
    "attention": "additive",
    "dropout": 0.1,
    "optimizer": "adam",
    "lr": 1e-3,
}


def splits_from_pairs(pairs, directory: Path) -> TranslationSplits:
    src = [s for s, _ in pairs]
    tgt = [t for _, t in pairs]
    src_tok = Tokenizer(train_sentencepiece(src, directory, vocab_size=4000), max_length=80)
    tgt_tok = Tokenizer(train_sentencepiece(tgt, directory, vocab_size=4000), max_length=80)
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


def plain_loop(model: nn.Module, data: ParallelDataset, batch_size: int, device, seed: int):
    """One epoch of the notebooks' loop; returns (target tokens per second, padding)."""
    rng = random.Random(seed)
    order = list(range(len(data)))
    rng.shuffle(order)
    optimizer = torch.optim.Adam(model.parameters(), lr=PARAMS["lr"])
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID)
    model.train()
    tokens, real, padded = 0, 0, 0
    start = time.perf_counter()
    for i in range(0, len(order), batch_size):
        batch = data.collate(order[i : i + batch_size]).to(device)
        optimizer.zero_grad()
        logits = model(batch.src, batch.src_lengths, batch.tgt_in)
        loss = loss_fn(logits.flatten(0, 1), batch.tgt_out.flatten())
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        tokens += batch.n_tgt_tokens
        real, padded = real + batch.n_real, padded + batch.n_padded
    seconds = time.perf_counter() - start
    return tokens / seconds, 1 - real / padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per plain batch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(machine(), f"| {args.threads} threads, device {device}")

    pairs = random.Random(0).sample(message_pairs("de"), args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        splits = splits_from_pairs(pairs, Path(tmp))
    # The same amount of real text per step on both sides: the token budget holds about as
    # many sentences as a plain batch of --batch-size sentences.
    pairs_ids = list(zip(splits.train.src_ids, splits.train.tgt_ids, strict=True))
    mean_longest = sum(max(len(s), len(t) + 1) for s, t in pairs_ids) / len(pairs_ids)
    batch_tokens = int(args.batch_size * mean_longest)

    torch.manual_seed(0)
    model = build(
        "translation",
        PARAMS,
        src_vocab_size=splits.src_tokenizer.vocab_size,
        tgt_vocab_size=splits.tgt_tokenizer.vocab_size,
    ).to(device)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    plain_rate, plain_padding = plain_loop(model, splits.train, args.batch_size, device, seed=0)

    model.load_state_dict(initial)
    settings = Seq2SeqSettings(
        max_epochs=1, batch_tokens=batch_tokens, seed=0, clip_grad=1.0, amp=True
    )
    result = fit_seq2seq(model, splits, PARAMS, settings, device=device)
    record = result.history[0]
    print(
        f"{len(pairs)} pairs, plain batches of {args.batch_size} sentences, "
        f"hpo batches of <= {batch_tokens} tokens"
    )
    print(f"plain loop : {plain_rate:8.0f} target tokens/s, padding {100 * plain_padding:.1f}%")
    print(
        f"hpo        : {record.tokens_per_s:8.0f} target tokens/s, "
        f"padding {100 * record.padding:.1f}%"
    )
    print(f"ratio hpo / plain: {record.tokens_per_s / plain_rate:.2f}x")


if __name__ == "__main__":
    main()
