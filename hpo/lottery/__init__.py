"""Lottery tickets: iterative magnitude pruning of a study's best model (either task).

Train the trial's model, prune a share of the remaining weights by magnitude, reset the
survivors (to their original values, to those after the first run, or to fresh random
ones) and retrain, round after round.

Example:
    .. code-block:: python

        from hpo.config import load_study_config
        from hpo.lottery import LotterySettings, run_lottery

        settings = LotterySettings(rounds=10, percent=20, reset="original")
        print(run_lottery(load_study_config("demo"), settings).text())
"""

from hpo.lottery.experiment import LotteryExperiment, RoundResult
from hpo.lottery.masks import WeightMasks, prunable_weights
from hpo.lottery.run import LotterySummary, run_lottery
from hpo.lottery.settings import RESETS, SCOPES, LotterySettings, parse_skip

__all__ = [
    "RESETS",
    "SCOPES",
    "LotteryExperiment",
    "LotterySettings",
    "LotterySummary",
    "RoundResult",
    "WeightMasks",
    "parse_skip",
    "prunable_weights",
    "run_lottery",
]
