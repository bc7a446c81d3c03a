"""Decoding speed: hpo's greedy and beam search against decoding that keeps done sentences.

A batched decoder as tutorials write it runs every sentence of a batch until the last one
ends (or hits the length cap), so each batch pays for its longest output, often one
runaway repetition; hpo drops a sentence from the batch once it is done. Both decode the
same dev sentences, in the same batches, with the same trained models, and must give the
same outputs: the script checks that and prints the rate of each and their ratio.

The models: the shipped seq2seq space's start point (a one-layer bidirectional GRU of 512
with additive attention) and a 2+2-layer Transformer (d_model 256), each trained with
hpo's trainer for ``--epochs`` on real English -> German pairs (the gettext catalogs'
messages of 2 to 12 words), so that they end sentences as a model in a study does, not as
an untrained one that never emits EOS.

The plain greedy decoder is written here. Beam search is compared with the beam search of
an earlier commit of hpo (``--against``, read with ``git show``), which kept done sentences
in the batch; without it beam search is timed alone.

    python benchmarks/decoding_speed.py [--pairs 16000] [--dev 2000] [--epochs 2]
        [--beam 5] [--against b23085c] [--threads 2]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from translation_throughput import shard, splits_from_pairs

from hpo.data.gettext_catalogs import message_pairs
from hpo.data.seq2seq_batching import ParallelDataset
from hpo.data.tokenizer import BOS_ID, EOS_ID
from hpo.models import build
from hpo.training.decoding import beam_search, greedy_decode, max_output_lengths
from hpo.training.seq2seq_trainer import Seq2SeqSettings, fit_seq2seq

ROOT = Path(__file__).resolve().parent.parent
GRU = {"arch": "rnn", "cell": "gru", "attention": "additive", "num_layers": 1,
       "residual": False, "bidirectional": True, "embedding_dim": 256, "hidden_size": 512,
       "tie_embeddings": False, "teacher_forcing": 1.0, "dropout": 0.2,
       "optimizer": "adam", "lr": 1e-3}  # fmt: skip
TRANSFORMER = {"arch": "transformer", "layers": 2, "d_model": 256, "heads": 4, "ff_dim": 1024,
               "dropout": 0.1, "optimizer": "adam", "lr": 5e-4, "lr_schedule": "inverse_sqrt",
               "warmup_steps": 500}  # fmt: skip
Decode = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], list[list[int]]]


@torch.no_grad()
def plain_greedy(model, src: torch.Tensor, src_lengths: torch.Tensor) -> list[list[int]]:
    """Greedy decoding that steps the whole batch until every sentence has ended."""
    limits = max_output_lengths(src_lengths, 1.5, 10)
    state = model.encode(src, src_lengths)
    tokens = torch.full((src.size(0),), BOS_ID, dtype=torch.long)
    outputs: list[list[int]] = [[] for _ in limits]
    done = [False] * len(limits)
    for step in range(max(limits)):
        logits, state = model.step(tokens, state)
        tokens = logits.argmax(dim=-1)
        for b, token in enumerate(tokens.tolist()):
            if not done[b]:
                done[b] = token == EOS_ID or step + 1 >= limits[b]
                if token != EOS_ID:
                    outputs[b].append(token)
        if all(done):
            break
    return outputs


def module_at(commit: str) -> types.ModuleType:
    """hpo's decoding module as it was at ``commit``."""
    source = subprocess.run(
        ["git", "show", f"{commit}:hpo/training/decoding.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"decoding_{commit}")
    exec(compile(source, f"{commit}:hpo/training/decoding.py", "exec"), module.__dict__)
    return module


def decode_all(decode: Decode, model, dev: ParallelDataset) -> tuple[float, list[list[int]]]:
    """Seconds to decode all of ``dev`` in hpo's validation batches, and the outputs."""
    outputs: list[list[int]] = [[] for _ in range(len(dev))]
    start = time.perf_counter()
    for batch in dev.batches(4000):
        for position, ids in zip(batch.index, decode(model, batch.src, batch.src_lengths),
                                 strict=True):  # fmt: skip
            outputs[position] = ids
    return time.perf_counter() - start, outputs


def compare(name: str, ours: Decode, theirs: Decode, model, dev, rounds: int) -> None:
    """Both decoders in turns; the best time of each, their ratio, and whether they agree."""
    times: dict[str, list[float]] = {"hpo": [], "baseline": []}
    results = {}
    for _ in range(rounds):
        for who, decode in (("baseline", theirs), ("hpo", ours)):
            seconds, results[who] = decode_all(decode, model, dev)
            times[who].append(seconds)
    same = sum(a == b for a, b in zip(results["hpo"], results["baseline"], strict=True))
    lengths = [len(ids) for ids in results["hpo"]]
    best = {who: min(t) for who, t in times.items()}
    print(
        f"{name:28} baseline {best['baseline']:6.2f} s  hpo {best['hpo']:6.2f} s  "
        f"ratio {best['baseline'] / best['hpo']:.2f}x  same outputs {same}/{len(dev)}  "
        f"mean output {sum(lengths) / len(lengths):.1f} tokens"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16000, help="pairs trained on")
    parser.add_argument("--dev", type=int, default=2000, help="dev sentences decoded")
    parser.add_argument("--epochs", type=int, default=2, help="training of each model")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--against", help="commit whose beam search is the baseline")
    parser.add_argument("--rounds", type=int, default=2, help="turns each decoder takes")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine(), f"| {args.threads} threads, cpu")

    pairs = [(en, de) for en, de in message_pairs("de") if 2 <= len(en.split()) <= 12]
    random.Random(0).shuffle(pairs)
    with tempfile.TemporaryDirectory() as tmp:
        splits = splits_from_pairs(pairs, Path(tmp), 8000)
    n = len(splits.train)
    train = shard(splits, list(range(min(args.pairs, n - args.dev))))
    dev = shard(splits, list(range(n - args.dev, n))).train
    # Validation during training is not what is measured: a few sentences keep it short.
    few = ParallelDataset(dev.src_ids[:8], dev.tgt_ids[:8])
    train = replace(train, dev=few, dev_references=[t for _, t in pairs[n - args.dev :]][:8])
    print(f"{len(train.train)} en->de pairs trained on, {len(dev)} decoded; {args.epochs} epochs")
    old = module_at(args.against) if args.against else None
    vocab = {"src_vocab_size": splits.src_tokenizer.vocab_size,
             "tgt_vocab_size": splits.tgt_tokenizer.vocab_size}  # fmt: skip
    for family, params in (("GRU start point", GRU), ("Transformer", TRANSFORMER)):
        torch.manual_seed(0)
        model = build("translation", params, **vocab)
        settings = Seq2SeqSettings(max_epochs=args.epochs, batch_tokens=4000, seed=0)
        start = time.perf_counter()
        fit_seq2seq(model, train, params, settings, device=torch.device("cpu"))
        print(f"{family}: trained in {time.perf_counter() - start:.0f} s")
        model.eval()
        compare(f"{family}, greedy", greedy_decode, plain_greedy, model, dev, args.rounds)

        def ours(m, s, lengths):
            return beam_search(m, s, lengths, args.beam)

        if old is None:
            seconds, _ = decode_all(ours, model, dev)
            print(f"{family + f', beam {args.beam}':28} hpo {seconds:6.2f} s (no baseline)")
        else:

            def theirs(m, s, lengths, old=old):
                return old.beam_search(m, s, lengths, args.beam)

            compare(f"{family}, beam {args.beam}", ours, theirs, model, dev, args.rounds)


if __name__ == "__main__":
    main()
