"""Optuna samplers and pruners from a study file's ``sampler`` and ``pruner`` sections."""

from __future__ import annotations

import warnings

import optuna

from hpo.config import PrunerConfig, SamplerConfig


def build_sampler(config: SamplerConfig) -> optuna.samplers.BaseSampler:
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    seed = config.seed
    if config.type == "tpe":
        return optuna.samplers.TPESampler(
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


def build_pruner(config: PrunerConfig, max_epochs: int) -> optuna.pruners.BasePruner:
    """Epochs are the pruners' resource: steps are reported as 1, 2, ... max_epochs."""
    if config.type == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=config.min_resource,
            reduction_factor=config.reduction_factor,
            min_early_stopping_rate=config.min_early_stopping_rate,
        )
    if config.type == "hyperband":
        min_resource = 1 if config.min_resource == "auto" else config.min_resource
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource,
            max_resource=max_epochs,
            reduction_factor=config.reduction_factor,
        )
    if config.type == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.n_startup_trials, n_warmup_steps=config.n_warmup_steps
        )
    return optuna.pruners.NopPruner()
