"""The experiment report's page: a self-contained HTML file (``reports/experiment/ab.html``).

Like the monitoring report (``report.py``), it has no script and loads nothing: the figure,
each metric's difference (challenger minus champion) with its interval against zero, is
embedded as base64 PNG. The page is ``templates/experiment.html.j2``, autoescaped.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from .report import page_template, png

PAGE = page_template("experiment.html.j2")
COLOURS = {"better": "#1b7f3b", "worse": "#b00020", "unsure": "#4c72b0"}


def percent(share: float) -> str:
    """``0.95`` as ``95 %``."""
    return f"{100 * share:.0f} %"


def differences_figure(metrics: list[dict[str, Any]], alpha: float) -> Figure | None:
    """One row per metric with an interval: the difference and its interval, zero marked, in
    green where the challenger is significantly better, red where it is worse."""
    shown = [m for m in metrics if m["low"] is not None and m["high"] is not None]
    if not shown:
        return None
    figure = Figure(figsize=(7, 1.2 + 0.9 * len(shown)))
    axes = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
    for axis, metric in zip(axes, shown, strict=True):
        significant = metric["p_value"] is not None and metric["p_value"] < alpha
        better = (metric["difference"] > 0) == metric["higher_is_better"]
        colour = COLOURS["unsure" if not significant else "better" if better else "worse"]
        axis.errorbar(
            [metric["difference"]],
            [0],
            xerr=[[metric["difference"] - metric["low"]], [metric["high"] - metric["difference"]]],
            fmt="o",
            color=colour,
            capsize=6,
        )
        axis.axvline(0, color="#888", linestyle="--")
        axis.set_yticks([0], [metric["metric"]])
        axis.set_ylim(-1, 1)
    axes[-1].set_xlabel(f"challenger - champion ({percent(1 - alpha)} interval)")
    figure.tight_layout()
    return figure


def render_page(summary: dict[str, Any]) -> str:
    """The whole page of an experiment's summary (``experiment.analyse``)."""
    figure = differences_figure(summary["metrics"], summary["alpha"])
    return PAGE.render(summary=summary, figure=None if figure is None else png(figure))
