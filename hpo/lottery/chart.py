"""The lottery chart: validation metric against the share of weights left, one line per reset.

``runs/<study>/lottery.html`` is a self-contained page (plotly.js embedded, no network
needed to open it) drawn from every ``lottery-<reset>.csv`` of the study.
"""

from __future__ import annotations

from pathlib import Path

from hpo.lottery.records import read_lottery_csvs

CHART_FILE = "lottery.html"


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def write_chart(study_dir: Path, study: str) -> Path:
    """Draw every reset mode run so far for ``study`` into ``study_dir/lottery.html``.

    Example:
        .. code-block:: python

            path = write_chart(Path("runs/demo"), "demo")  # runs/demo/lottery.html
    """
    import plotly.graph_objects as go

    figure = go.Figure()
    metric = "value"
    for reset, rows in read_lottery_csvs(study_dir).items():
        metric = rows[0].get("metric") or metric
        tests = [_number(row.get(f"test_{metric}")) for row in rows]
        figure.add_trace(
            go.Scatter(
                name=reset,
                mode="lines+markers",
                x=[100 * float(row["remaining"]) for row in rows],
                y=[float(row["value"]) for row in rows],
                customdata=[
                    [int(row["round"]), t if t is not None else float("nan")]
                    for row, t in zip(rows, tests, strict=True)
                ],
                hovertemplate=(
                    f"{reset}<br>round %{{customdata[0]}}<br>%{{x:.2f}}% of weights left"
                    f"<br>dev {metric} %{{y:.4f}}<br>test {metric} %{{customdata[1]:.4f}}"
                    "<extra></extra>"
                ),
            )
        )
    figure.update_layout(
        title=f"{study}: lottery tickets (iterative magnitude pruning)",
        xaxis={"title": "prunable weights left (%)", "type": "log", "autorange": "reversed"},
        yaxis={"title": f"dev {metric}"},
        legend={"title": "reset"},
        template="plotly_white",
    )
    path = study_dir / CHART_FILE
    figure.write_html(path, include_plotlyjs=True, full_html=True)
    return path
