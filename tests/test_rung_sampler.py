"""The rung-fitted TPE (``sampler: {type: rung_tpe}``) ranks trials by their values at the
highest SuccessiveHalving rung that enough trials reached, and samples where those were
good; through ``hpo optimize`` it runs a pruned study like any other sampler."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from hpo.cli import main
from hpo.study.rung_sampler import RungTPESampler, rung_view
from tests.conftest import write_study

X = {"x": FloatDistribution(0.0, 1.0)}


def finished(x, state, value, rungs):
    """A finished trial at ``x`` with its values at rungs 0, 1, ... (steps 1, 3, 9, ...)."""
    return optuna.trial.create_trial(
        state=state,
        value=value,
        params={"x": x},
        distributions=X,
        intermediate_values={3**k: v for k, v in enumerate(rungs)},
        system_attrs={f"completed_rung_{k}": v for k, v in enumerate(rungs)},
    )


@pytest.fixture
def history():
    """Where final values and rung-1 values disagree: three trials near x=0.2 ran to the end
    (0.95) but were poor at rung 1 (0.5); eight near x=0.8 were best at rung 1 (0.9), then
    pruned; twenty near x=0.5 were pruned at rung 0."""
    study = optuna.create_study(direction="maximize")
    for i in range(3):
        study.add_trial(finished(0.2 + 0.01 * i, TrialState.COMPLETE, 0.95, [0.5, 0.5]))
    for i in range(8):
        study.add_trial(finished(0.8 + 0.005 * i, TrialState.PRUNED, 0.9, [0.9, 0.9]))
    for i in range(20):
        study.add_trial(finished(0.45 + 0.005 * i, TrialState.PRUNED, 0.1, [0.1]))
    return study


def test_the_view_ranks_trials_at_the_highest_rung_enough_trials_reached(history):
    view = rung_view(history, min_trials=5)
    trials = view.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 11  # every trial that reached rung 1, at its value there
    assert {round(t.value, 2) for t in complete} == {0.5, 0.9}
    assert max(complete, key=lambda t: t.value).params["x"] >= 0.8
    assert [t.number for t in trials] == [t.number for t in history.get_trials()]
    # Rung 1 needs 11 trials here: with more asked, the fit falls back to rung 0.
    assert len(rung_view(history, min_trials=12).get_trials(states=(TrialState.COMPLETE,))) == 31
    assert rung_view(history, min_trials=32) is history


def mean_proposal(study, sampler, n=12):
    study.sampler = sampler
    return sum(study.ask(X).params["x"] for _ in range(n)) / n


def test_it_samples_where_trials_were_good_at_the_rung_where_tpe_follows_final_values(history):
    plain = mean_proposal(history, optuna.samplers.TPESampler(seed=0, multivariate=True))
    history_again = optuna.create_study(direction="maximize")
    history_again.add_trials([t for t in history.get_trials() if t.state != TrialState.RUNNING])
    rung = mean_proposal(history_again, RungTPESampler(seed=0, min_trials=5))
    assert plain < 0.45  # TPE's good group is the three complete trials near 0.2
    assert rung > 0.65  # at rung 1, the good group is the trials near 0.8


def test_rung_tpe_runs_a_pruned_study_through_the_cli(workdir):
    study_file = write_study(
        workdir,
        sampler={"type": "rung_tpe", "n_startup_trials": 2},
        pruner={"type": "successive_halving", "min_resource": 1, "reduction_factor": 2},
        training={"max_epochs": 2},
    )
    assert main(["optimize", "--study", str(study_file), "--n-trials", "4", "--seed", "2"]) == 0
    trials = optuna.load_study(study_name="tiny", storage="sqlite:///runs/hpo.db").get_trials()
    assert len(trials) == 4
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert any("completed_rung_0" in t.system_attrs for t in trials)
