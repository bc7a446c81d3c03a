"""The figures of a study report: plotly figures, or a sentence saying why one is missing.

Each function takes the study and returns a :class:`Figure`; a figure that cannot be drawn
yet (too few trials, no searched parameter) carries a note instead, so the report still
shows every section and says what it lacks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.study.trial_steps import epochs_at

if TYPE_CHECKING:
    import plotly.graph_objects as go

# The slice plots show this many of the most important parameters.
MAX_SLICE_PARAMS = 4

_STYLE = {
    TrialState.COMPLETE: {"color": "#1f77b4", "dash": "solid", "symbol": "circle"},
    TrialState.PRUNED: {"color": "#ff7f0e", "dash": "dash", "symbol": "x"},
    TrialState.RUNNING: {"color": "#7f7f7f", "dash": "dot", "symbol": "circle-open"},
    TrialState.FAIL: {"color": "#d62728", "dash": "dot", "symbol": "diamond-open"},
}


@dataclass
class Figure:
    """One section of the report: a title and either a plotly figure or a note."""

    key: str
    title: str
    figure: go.Figure | None = None
    note: str = ""


def _complete(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def _searched_params(study: optuna.Study) -> list[str]:
    return sorted({name for t in _complete(study) for name in t.params})


def _sized(figure: go.Figure, title: str, height: int = 420) -> go.Figure:
    # Optuna's figures have no height; in a page they would stretch to the window.
    figure.update_layout(title=title, height=height, margin={"t": 60, "b": 50})
    return figure


def optimization_history(study: optuna.Study, metric: str) -> Figure:
    """Every complete trial's value and the best value so far, trial by trial."""
    title = "Optimization history"
    if not _complete(study):
        return Figure("history", title, note="No complete trial yet.")
    from optuna.visualization import plot_optimization_history

    figure = plot_optimization_history(study, target_name=metric)
    figure.update_traces(selector={"name": "Best Value"}, name="best so far")
    return Figure("history", title, _sized(figure, f"{title} (best so far as a line)"))


def learning_curves(study: optuna.Study, metric: str) -> Figure:
    """The values a trial reported, against the epochs it had trained (its steps count
    training examples), one line per trial; pruned trials dashed."""
    import plotly.graph_objects as go

    title = "Learning curves"
    trials = [t for t in study.get_trials(deepcopy=False) if t.intermediate_values]
    if not trials:
        return Figure("curves", title, note="No trial has reported yet.")
    best = study.best_trial.number if _complete(study) else None
    figure = go.Figure()
    shown: set[str] = set()
    for trial in trials:
        style = _STYLE.get(trial.state, _STYLE[TrialState.RUNNING])
        steps = sorted(trial.intermediate_values)
        epochs = [epochs_at(trial, step) for step in steps]
        values = [trial.intermediate_values[step] for step in steps]
        is_best = trial.number == best
        group = "best trial" if is_best else trial.state.name.lower()
        # Markers only at the last report: where a pruned trial was stopped.
        symbols = ["circle"] * (len(epochs) - 1) + [style["symbol"]]
        sizes = [4] * (len(epochs) - 1) + [10 if trial.state == TrialState.PRUNED else 6]
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=values,
                customdata=steps,
                mode="lines+markers",
                name=group,
                legendgroup=group,
                showlegend=group not in shown,
                line={
                    "color": "#2ca02c" if is_best else style["color"],
                    "dash": style["dash"],
                    "width": 3 if is_best else 1.5,
                },
                marker={"symbol": symbols, "size": sizes},
                opacity=1.0 if is_best or trial.state != TrialState.PRUNED else 0.75,
                hovertemplate=(
                    f"trial {trial.number} ({trial.state.name.lower()})<br>"
                    "epoch %{x:.3g} (%{customdata} examples): %{y:.4g}<extra></extra>"
                ),
            )
        )
        shown.add(group)
    figure.update_layout(xaxis={"title": "epoch"}, yaxis={"title": metric})
    return Figure("curves", title, _sized(figure, f"{title} (pruned: dashed, ending in x)"))


def parallel_coordinates(study: optuna.Study, metric: str) -> Figure:
    """Each complete trial as a line through its parameter values and its value."""
    title = "Parallel coordinates"
    if not _complete(study):
        return Figure("parallel", title, note="No complete trial yet.")
    if not _searched_params(study):
        return Figure("parallel", title, note="No parameter is searched: nothing varies.")
    from optuna.visualization import plot_parallel_coordinate

    figure = plot_parallel_coordinate(study, target_name=metric)
    return Figure("parallel", title, _sized(figure, title, height=460))


def param_importances(study: optuna.Study) -> tuple[dict[str, float], str]:
    """Optuna's importance of each searched parameter, most important first, or why not.

    Uses Optuna's default evaluator (PED-ANOVA), which also weighs conditional parameters.

    Example:
        .. code-block:: python

            importances, why_not = param_importances(study)
            print(next(iter(importances), why_not))
    """
    complete = _complete(study)
    if len(complete) < 2:
        return {}, f"Importances need at least 2 complete trials ({len(complete)} so far)."
    if not _searched_params(study):
        return {}, "No parameter is searched."
    try:
        with warnings.catch_warnings():
            # Few trials make the evaluator warn; the report says how many there are.
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        return {}, f"Importances could not be computed: {exc}"
    if not importances:
        return {}, "Importances could not be computed from these trials."
    return dict(importances), ""


def importance_bars(importances: dict[str, float], why_not: str) -> Figure:
    """A horizontal bar per parameter, most important on top."""
    import plotly.graph_objects as go

    title = "Hyperparameter importances"
    if not importances:
        return Figure("importances", title, note=why_not)
    names = list(importances)[::-1]
    figure = go.Figure(
        go.Bar(
            x=[importances[n] for n in names],
            y=names,
            orientation="h",
            text=[f"{importances[n]:.2f}" for n in names],
            textposition="outside",
            marker={"color": "#1f77b4"},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    figure.update_layout(xaxis={"title": "importance (PED-ANOVA, sums to 1)"})
    height = 160 + 40 * len(names)
    return Figure("importances", title, _sized(figure, title, height=max(300, height)))


def slices(study: optuna.Study, importances: dict[str, float], metric: str) -> Figure:
    """Value against each of the most important parameters, one panel per parameter."""
    title = "Slice plots"
    params = list(importances)[:MAX_SLICE_PARAMS] or _searched_params(study)[:MAX_SLICE_PARAMS]
    if not _complete(study) or not params:
        return Figure("slices", title, note="No complete trial with a searched parameter yet.")
    from optuna.visualization import plot_slice

    figure = plot_slice(study, params=params, target_name=metric)
    return Figure("slices", title, _sized(figure, f"{title} of the most important parameters"))


def all_figures(study: optuna.Study, metric: str) -> list[Figure]:
    """Every figure of the report, in the order the page shows them.

    Example:
        .. code-block:: python

            for figure in all_figures(study, "accuracy"):
                print(figure.title, figure.note or "drawn")
    """
    importances, why_not = param_importances(study)
    return [
        optimization_history(study, metric),
        learning_curves(study, metric),
        parallel_coordinates(study, metric),
        importance_bars(importances, why_not),
        slices(study, importances, metric),
    ]


def figure_html(figure: Figure, config: dict[str, Any]) -> str:
    """The figure as an HTML fragment that uses the page's one copy of plotly.js."""
    assert figure.figure is not None
    return figure.figure.to_html(
        full_html=False, include_plotlyjs=False, config=config, div_id=f"fig-{figure.key}"
    )
