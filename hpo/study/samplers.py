"""Optuna samplers and pruners from a study file's ``sampler`` and ``pruner`` sections."""

from __future__ import annotations

import math
import warnings

import optuna

from hpo.amounts import parse_amount
from hpo.config import PrunerConfig, SamplerConfig
from hpo.study.rung_sampler import RungTPESampler
from hpo.study.time_halving import TimeHalvingPruner


def build_sampler(config: SamplerConfig) -> optuna.samplers.BaseSampler:
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    seed = config.seed
    if config.type == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=config.n_startup_trials, multivariate=config.multivariate
        )
    if config.type == "rung_tpe":
        return RungTPESampler(
            seed=seed, n_startup_trials=config.n_startup_trials, multivariate=config.multivariate
        )
    if config.type == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.type == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=config.n_startup_trials, warn_independent_sampling=False
        )
    if config.type == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=config.n_startup_trials)
    return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)


def build_pruner(
    config: PrunerConfig, max_epochs: int, epoch_examples: int
) -> optuna.pruners.BasePruner:
    """Training examples are the pruners' resource: a trial's step is the number of examples
    it has seen. Epochs in ``config`` count ``epoch_examples`` each; Hyperband's
    ``max_resource`` is ``max_epochs`` of them.

    Example:
        >>> pruner = build_pruner(PrunerConfig(min_resource=2), 10, epoch_examples=1200)
        >>> pruner._min_resource
        2400
    """
    if config.type == "successive_halving" and config.compare != "examples":
        resource = config.min_resource
        return TimeHalvingPruner(
            min_resource="auto" if resource == "auto" else _examples(resource, epoch_examples),
            reduction_factor=config.reduction_factor,
            min_early_stopping_rate=config.min_early_stopping_rate,
            max_epochs=max_epochs if config.compare == "auto" else None,
        )
    if config.type == "successive_halving":
        resource = config.min_resource
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource="auto" if resource == "auto" else _examples(resource, epoch_examples),
            reduction_factor=config.reduction_factor,
            min_early_stopping_rate=config.min_early_stopping_rate,
        )
    if config.type == "hyperband":
        max_resource = max(1, max_epochs * epoch_examples)
        resource = config.min_resource
        # For auto, SuccessiveHalving's own estimate: a hundredth of the longest run.
        min_resource = (
            max(1, max_resource // 100)
            if resource == "auto"
            else _examples(resource, epoch_examples)
        )
        return optuna.pruners.HyperbandPruner(
            min_resource=min(min_resource, max_resource),
            max_resource=max_resource,
            reduction_factor=config.reduction_factor,
        )
    if config.type == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.n_startup_trials,
            n_warmup_steps=config.n_warmup_steps * epoch_examples,
        )
    return optuna.pruners.NopPruner()


def _examples(resource: int | str, epoch_examples: int) -> int:
    """``min_resource`` (not ``auto``) in training examples, at least 1."""
    examples = parse_amount(resource, "min_resource").examples(epoch_examples)
    return max(1, math.ceil(examples))
