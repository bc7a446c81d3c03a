"""SuccessiveHalving at equal training time (``pruner: {compare: time}``): the same rungs as
at equal data seen, decided by what every trial had reached on all of dev in the time the
trial at the rung has trained."""

from __future__ import annotations

import optuna
import pytest

from hpo.config import PrunerConfig
from hpo.study.samplers import build_pruner

EPOCH = 100  # training examples an epoch


def study_with(compare: str) -> optuna.Study:
    config = PrunerConfig(type="successive_halving", min_resource=1, compare=compare)
    pruner = build_pruner(config, max_epochs=9, epoch_examples=EPOCH)
    return optuna.create_study(direction="maximize", pruner=pruner)


def train(study: optuna.Study, values: list[float], seconds_an_epoch: float) -> bool:
    """A trial that reports ``values`` at its epochs' ends, recording its cost as hpo's
    pruning callback does before it asks; whether the pruner stopped it."""
    trial = study.ask()
    trial.set_user_attr("epoch_examples", EPOCH)
    for epoch, value in enumerate(values, start=1):
        trial.set_user_attr("train_seconds", seconds_an_epoch * epoch)
        trial.set_user_attr("val_seconds", 0.0)
        trial.report(value, step=EPOCH * epoch)
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return True
    study.tell(trial, values[-1])
    return False


@pytest.mark.parametrize(("compare", "pruned"), [("time", True), ("examples", False)])
def test_a_slow_trial_ahead_at_equal_data_is_stopped_at_equal_time(compare, pruned):
    study = study_with(compare)
    # Two fast trials (4 s an epoch) and a weak one, then a slow one (15 s an epoch) whose
    # first epoch beats the fast ones' first, not what the best had reached in 15 s.
    assert not train(study, [0.40, 0.50, 0.55, 0.59], 4.0)
    train(study, [0.20, 0.25, 0.30, 0.32], 4.0)
    train(study, [0.10, 0.11, 0.12, 0.12], 4.0)

    assert train(study, [0.45, 0.60, 0.70], 15.0) is pruned

    slow = study.get_trials()[-1]
    assert slow.system_attrs["completed_rung_0"] == 0.45  # the rung, as the sampler reads it


@pytest.mark.parametrize(("compare", "pruned"), [("time", False), ("examples", True)])
def test_a_fast_trial_behind_at_equal_data_goes_on_at_equal_time(compare, pruned):
    study = study_with(compare)
    for _ in range(3):  # slow trials (30 s an epoch), good first epochs
        train(study, [0.50, 0.55, 0.58], 30.0)
    assert train(study, [0.30, 0.45, 0.60], 2.0) is pruned
    fast = study.get_trials()[-1]
    assert (fast.state == optuna.trial.TrialState.PRUNED) is pruned


def test_trials_that_had_no_epoch_by_then_do_not_compete():
    study = study_with("time")
    train(study, [0.90, 0.95], 60.0)  # a minute an epoch: nothing within 5 s
    train(study, [0.80], 60.0)
    assert not train(study, [0.20, 0.30, 0.40], 5.0)  # alone in its 5 s, it goes on


def train_limited(study: optuna.Study, values: list[float], seconds: float, limit: float) -> bool:
    """``train`` for a trial whose time limit is ``limit`` seconds, as the objective records it."""
    study.enqueue_trial({}, user_attrs={"time_limit_s": limit})
    return train(study, values, seconds)


@pytest.mark.parametrize(("limit", "pruned"), [(420.0, False), (400.0, True), (100.0, True)])
def test_auto_decides_at_equal_time_where_max_epochs_take_a_third_of_the_limit(limit, pruned):
    study = study_with("auto")  # max_epochs 9
    assert not train(study, [0.40, 0.50, 0.55, 0.59], 4.0)
    train(study, [0.20, 0.25, 0.30, 0.32], 4.0)
    train(study, [0.10, 0.11, 0.12, 0.12], 4.0)
    # 15 s an epoch: 9 epochs take 135 s, three times 405 s. Within a limit that holds that
    # it is judged as SuccessiveHalving judges (its first epoch leads the others' first);
    # otherwise at equal time, and by 15 s the best had 0.55.
    assert train_limited(study, [0.45, 0.60, 0.70], 15.0, limit) is pruned


def test_auto_without_a_time_limit_is_successive_halving():
    studies = [study_with("auto"), study_with("examples")]
    outcomes = []
    for study in studies:
        train(study, [0.50, 0.55, 0.58], 30.0)
        train(study, [0.52, 0.56, 0.60], 30.0)
        outcomes.append([train(study, [0.30, 0.45, 0.60], 2.0), train(study, [0.6, 0.7], 60.0)])
    assert outcomes[0] == outcomes[1] == [True, False]
