"""An epoch's checkpoint at a new best: ``last.pt`` written and ``best.pt`` linked to it
(hpo) against both written, side by side.

At every report the loop writes ``last.pt`` (model, optimizer, schedule, generators), and at
a new best the same state as ``best.pt``. A translator still climbing makes a new best at
nearly every epoch's end, and the state of the ``seq2seq`` space's start point with its
Adam moments is about 185 MB. hpo writes it once and gives ``best.pt`` the same file
(``hpo.training.resume.save_states``); before, it wrote it twice.

This builds the start point (8,000 pieces a side, the time-to-quality task's size), takes
one Adam step so that the optimizer holds its moments, and saves the loop's checkpoint of a
new best both ways, in turns, into a folder on the disk the runs go to (``--folder``, by
default a temporary one under ``runs/``): every save is synced to disk before it counts, as
the loop's are. It prints each way's seconds per save and the ratio.

    python benchmarks/checkpoint_write.py [--saves 5] [--folder runs/checkpoint-bench]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hpo from this tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

from hpo.models import build
from hpo.training.resume import BEST_CHECKPOINT, LAST_CHECKPOINT, save_state, save_states

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = 8000


def start_point_state() -> dict:
    """The loop's checkpoint of the ``seq2seq`` space's start point after one Adam step."""
    space = yaml.safe_load((ROOT / "search_spaces" / "seq2seq.yaml").read_text(encoding="utf-8"))
    params = space["start"]
    model = build("translation", params, src_vocab_size=VOCABULARY, tgt_vocab_size=VOCABULARY)
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter)
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1}


def both_written(state: dict, folder: Path) -> None:
    save_state(state, folder / LAST_CHECKPOINT)
    save_state(state, folder / BEST_CHECKPOINT)


def written_once(state: dict, folder: Path) -> None:
    save_states(state, folder / LAST_CHECKPOINT, folder / BEST_CHECKPOINT)


CONTENDERS = {"both written": both_written, "hpo (written once, linked)": written_once}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=5)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    print(machine(), f"| {args.saves} saves each, in turns")
    state = start_point_state()
    size = sum(t.numel() * t.element_size() for t in state["model"].values())
    print(
        f"start point: {size / 1e6:.0f} MB of weights, with Adam's moments about three times that"
    )
    folder = args.folder or ROOT / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        for turn in range(args.saves):
            names = list(CONTENDERS)[:: 1 if turn % 2 == 0 else -1]
            for name in names:
                started = time.perf_counter()
                CONTENDERS[name](state, Path(work))
                seconds[name].append(time.perf_counter() - started)
        written = (Path(work) / LAST_CHECKPOINT).stat().st_size
    print(f"a checkpoint: {written / 1e6:.0f} MB")
    for name, found in seconds.items():
        print(
            f"{name:28} "
            + " ".join(f"{s:.2f}" for s in found)
            + f"  median {statistics.median(found):.2f} s"
        )
    base, ours = (statistics.median(found) for found in seconds.values())
    print(f"seconds a save of a new best, both written / hpo: {base / ours:.2f}x the time")


if __name__ == "__main__":
    main()
