"""The monitor's reports: a self-contained HTML page and a Markdown verdict for CI.

The HTML page has no script and loads nothing: its figures (matplotlib) are embedded as
base64 PNG, so it opens offline, as a CI artifact or an e-mail attachment. Sections: the
verdict, the window and the log, the notes; the data-quality checks; every feature's test,
p-values, PSI and missing rates with its distribution against the reference (missing values
left out; a categorical feature as bars, at most ``MAX_BARS`` of them: the most frequent
categories and ``(other)``); the predictions, by task (binary: the predicted probabilities;
multiclass: the predicted class shares against the training ones; regression: the predicted
values against the training target); the labelled performance per window (with a
calibration plot for a binary task).

The page is ``templates/report.html.j2``, rendered by Jinja with autoescaping (a column named
like markup shows as text); this module draws its figures and prepares its rows.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from matplotlib.figure import Figure

from ..core.contract import Code
from ..core.schema import CONTRACT, RAW_TARGET, TARGET
from ..core.tasks import TASK, Task
from ..params import MonitorParams
from .columns import OTHER, SCHEMA, Features
from .drift import code_counts
from .performance import alarms, score_labels

COLOURS = {"reference": "#4c72b0", "window": "#dd8452"}
MAX_BARS = 10  # per categorical feature: the most frequent categories, the rest as (other)
GRID_COLUMNS = 5
LABEL_CHARS = 14  # a longer category or feature name is cut in a figure
POSITIVE = CONTRACT.target.positive_label


def page_template(name: str) -> Template:
    """A page template of ``templates/`` beside this module, autoescaped, strict."""
    return Environment(
        loader=PackageLoader(__name__.rpartition(".")[0]),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    ).get_template(name)


PAGE = page_template("report.html.j2")


def png(figure: Figure) -> str:
    """The figure as base64 PNG, for a ``data:`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _short(text: object, chars: int = LABEL_CHARS) -> str:
    """A label for a figure: cut to ``chars``, dollars escaped (matplotlib reads $…$ as maths)."""
    label = str(text)
    label = label if len(label) <= chars else label[: chars - 1] + "…"
    return label.replace("$", r"\$")


def bar_shares(reference: pd.Series, window: pd.Series, codes: tuple[Code, ...]) -> pd.DataFrame:
    """Each category's share of the values present in the reference and the window, values
    outside ``codes`` as ``(other)`` (shown when there are some); beyond ``MAX_BARS`` rows, the
    ``MAX_BARS - 1`` most frequent categories and the rest pooled into ``(other)``."""
    counts = pd.DataFrame(
        {
            "reference": code_counts(reference.dropna(), codes),
            "window": code_counts(window.dropna(), codes),
        }
    )
    shares = counts / counts.sum().replace(0, 1)
    if len(shares) > MAX_BARS:
        named = shares.drop(index=OTHER)
        top = named.sum(axis=1).sort_values(ascending=False, kind="stable").index[: MAX_BARS - 1]
        rest = shares.drop(index=top).sum().rename(OTHER)
        shares = pd.concat([shares.loc[top], rest.to_frame().T])
    if not shares.loc[OTHER].any():
        shares = shares.drop(index=OTHER)
    return shares


def _bars(axis: Any, shares: pd.DataFrame) -> None:
    positions = np.arange(len(shares))
    for offset, label in ((-0.2, "reference"), (0.2, "window")):
        axis.bar(positions + offset, shares[label], 0.4, color=COLOURS[label], label=label)
    words = any(isinstance(code, str) for code in shares.index)
    axis.set_xticks(
        positions,
        [_short(code) for code in shares.index],
        rotation=30 if words else 0,
        ha="right" if words else "center",
        fontsize=8,
    )


def _histograms(axis: Any, reference: pd.Series, window: pd.Series) -> None:
    reference, window = reference.dropna(), window.dropna()
    if reference.empty and window.empty:
        axis.text(0.5, 0.5, "all missing", ha="center", transform=axis.transAxes)
        return
    bins = np.histogram_bin_edges(np.concatenate([reference, window]), bins=20)
    for label, data in (("reference", reference), ("window", window)):
        if not data.empty:
            axis.hist(data, bins=bins, density=True, histtype="step", color=COLOURS[label])


def _title(name: str, result: dict[str, Any]) -> str:
    """``name: PSI 0.12 (drift), 8% missing`` (the window's missing rate, when there is one)."""
    title = f"{_short(name, 2 * LABEL_CHARS)}: PSI {result.get('psi', float('nan')):.2f}"
    if result.get("drifted"):
        title += " (drift)"
    if result.get("missing_window"):
        title += f", {100 * result['missing_window']:.0f} % missing"
    return title


def distributions_figure(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    drift: dict[str, Any],
    features: Features = SCHEMA,
) -> Figure:
    """Each feature's distribution in the reference and in the window (shares; missing values
    left out, their rate in the title)."""
    rows = math.ceil(len(features.names) / GRID_COLUMNS)
    figure = Figure(figsize=(15, 3 * rows))
    axes = figure.subplots(rows, GRID_COLUMNS, squeeze=False).ravel()
    for axis, name in zip(axes, features.names, strict=False):
        if name in features.codes:
            _bars(axis, bar_shares(reference[name], window[name], features.codes[name]))
        else:
            _histograms(axis, reference[name], window[name])
        axis.set_title(_title(name, drift["features"].get(name, {})), fontsize=10)
    for axis in axes[len(features.names) :]:
        axis.set_visible(False)
    axes[0].legend(list(COLOURS), fontsize=8)
    figure.tight_layout()
    return figure


def probability_figure(window: pd.DataFrame, prevalence: float | None) -> Figure:
    """The window's predicted probabilities, with the training prevalence."""
    figure = Figure(figsize=(6, 3))
    axis = figure.add_subplot()
    axis.hist(window["probability"], bins=np.linspace(0, 1, 21).tolist(), color=COLOURS["window"])
    if prevalence is not None:
        axis.axvline(prevalence, color=COLOURS["reference"], label="training prevalence")
        axis.legend(fontsize=8)
    axis.set_xlabel(f"predicted probability: {_short(POSITIVE, 4 * LABEL_CHARS)}")
    axis.set_ylabel("records")
    return figure


def calibration_figure(points: list[dict[str, float]]) -> Figure:
    """Observed rate against mean predicted probability (a reliability diagram)."""
    figure = Figure(figsize=(4, 4))
    axis = figure.add_subplot()
    axis.plot([0, 1], [0, 1], linestyle=":", color="#888")
    axis.plot(
        [point["mean_predicted"] for point in points],
        [point["observed"] for point in points],
        marker="o",
        color=COLOURS["window"],
    )
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel(f"observed rate: {_short(POSITIVE, 4 * LABEL_CHARS)}")
    return figure


def class_shares_figure(check: dict[str, Any]) -> Figure:
    """The window's predicted class shares against the training split's class shares."""
    shares = pd.DataFrame({"reference": check["training_shares"], "window": check["shares"]})
    figure = Figure(figsize=(6, 3))
    axis = figure.add_subplot()
    _bars(axis, shares)
    axis.legend(["training", "predicted"], fontsize=8)
    axis.set_ylabel("share of records")
    return figure


def predicted_values_figure(reference: pd.DataFrame, predicted: pd.Series) -> Figure:
    """The window's predicted values against the reference's: the model's predictions on the
    training split when it has them, else the training target (densities)."""
    label = "training predictions" if "prediction" in reference else "training target"
    expected = reference["prediction"] if "prediction" in reference else reference[TARGET]
    figure = Figure(figsize=(6, 3))
    axis = figure.add_subplot()
    _histograms(axis, expected.astype(float), predicted.astype(float))
    axis.legend([label, "predicted"], fontsize=8)
    axis.set_xlabel(_short(RAW_TARGET, 4 * LABEL_CHARS))
    return figure


def _prediction(
    checks: dict[str, Any], reference: pd.DataFrame, window: pd.DataFrame, task: Task
) -> dict[str, Any]:
    """The predictions' check (said under the checks) and its figure (after the features)."""
    if task.name == "multiclass":
        check = checks["class_shares"]
        figure = class_shares_figure(check)
    elif task.name == "regression":
        check = checks["prediction_distribution"]
        figure = predicted_values_figure(reference, window["prediction"])
    else:
        check = checks["positive_rate"]
        figure = probability_figure(window, check["training_prevalence"])
    return {"task": task.name, "check": check, "figure": png(figure)}


def _drift(
    drift: dict[str, Any],
    reference: pd.DataFrame,
    window: pd.DataFrame,
    features: Features,
    task: Task,
) -> dict[str, Any]:
    """The drift sections' tables and figures (none when drift was not judged)."""
    if not drift["judged"]:
        return {}
    keys = ["test", "statistic", "p_value", "adjusted_p_value", "psi"]
    keys += ["missing_reference", "missing_window", "missing_rose", "drifted"]
    return {
        "check_rows": [
            [name, check.get("shift", check["value"]), check["threshold"], check["failed"]]
            for name, check in drift["checks"].items()
        ],
        "feature_headers": ["feature", *keys],
        "feature_rows": [
            [name, *(row[key] for key in keys)] for name, row in drift["features"].items()
        ],
        "distributions": png(distributions_figure(reference, window, drift, features)),
        "prediction": _prediction(drift["checks"], reference, window, task),
    }


def _thresholds(performance: dict[str, Any], task: Task) -> str:
    """``ROC AUC ≥ 0.7, Brier score ≤ 0.25``: the task's alarms as the summary has them."""
    labels = score_labels(task)
    parts = []
    for alarm in alarms(MonitorParams(), task):
        threshold = performance.get(alarm.key)
        if threshold is None:
            parts.append(f"{labels[alarm.score]}: no threshold")
            continue
        part = f"{labels[alarm.score]} {'≥' if alarm.key.startswith('min_') else '≤'} {threshold}"
        source = performance.get(f"{alarm.key}_source")
        parts.append(part + (f": {source}" if source and source != "params.yaml" else ""))
    return ", ".join(parts)


def _performance(performance: dict[str, Any], task: Task) -> dict[str, Any]:
    """The labelled performance's thresholds in words, its windows' rows, its calibration."""
    keys = ["predictions", "labelled", "unlabelled", *score_labels(task)]
    return {
        "thresholds": _thresholds(performance, task),
        "window_headers": ["window", *keys],
        "window_rows": [
            [f"{w['start'][:10]} to {w['end'][:10]}", *(w[key] for key in keys)]
            for w in performance.get("windows", [])
        ],
        "calibration": (
            png(calibration_figure(performance["calibration"]))
            if performance["calibration"]
            else None
        ),
    }


def render_html(
    summary: dict[str, Any],
    reference: pd.DataFrame,
    window: pd.DataFrame,
    features: Features = SCHEMA,
    task: Task = TASK,
) -> str:
    """The whole report page (of the project's features and task, or those given)."""
    return PAGE.render(
        summary=summary,
        reference_path=summary["reference"].get("path", ""),
        drift=summary["drift"],
        performance=summary["performance"],
        **_drift(summary["drift"], reference, window, features, task),
        **_performance(summary["performance"], task),
    )


def render_markdown(summary: dict[str, Any], task: Task = TASK) -> str:
    """A short verdict for a CI job's step summary."""
    drift, performance = summary["drift"], summary["performance"]
    labels = score_labels(task)
    judged_by = ", ".join(
        f"{labels[alarm.score]} {performance[alarm.score]}"
        for alarm in alarms(MonitorParams(), task)
    )
    lines = [
        f"### Monitoring: {summary['verdict']} (exit status {summary['exit_code']})",
        "",
        f"- window: {summary['window']['start'][:19]} to {summary['window']['end'][:19]}, "
        f"{drift['records']} records",
        f"- drifted features: {', '.join(drift['drifted_features']) or 'none'}",
        f"- failed checks: {', '.join(drift['failed_checks']) or 'none'}",
        f"- labelled performance: {performance['labelled']} labelled, {judged_by}"
        f"{' (below thresholds)' if performance['failed'] else ''}",
        *(f"- note: {note}" for note in summary["notes"]),
        "",
    ]
    return "\n".join(lines) + "\n"
