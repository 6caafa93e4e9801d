"""The drift monitor: recent traffic against the training data, and labelled performance.

Usage, from the project root::

    python -m <package>.monitoring.monitor [--now ISO-8601] [--exit-zero] [--github]

Reads the prediction log's records of the last ``monitor.window_days`` days up to ``--now``
(default: the current time) and compares them with ``data/processed/train.csv``: every
feature (``drift.py``), the duplicate and out-of-schema rates and the predictions against the
training target, by task (``quality.py``: the positive rate, the class shares or the
values); then the labelled performance of the last ``performance_window_days`` from
``make feedback``. Thresholds: ``monitor`` in params.yaml. Writes
``reports/monitoring/summary.json`` and ``report.html``.

Exit status: 0 healthy (or too few records or labels to judge, said in a warning), 3 drift,
4 performance below its thresholds, 5 both, 1 an error (no log, bad params.yaml), 143 SIGTERM.
``--exit-zero`` exits 0 on drift or low performance too (the verdict is in summary.json);
``--github`` adds the verdict to ``$GITHUB_STEP_SUMMARY`` and ``verdict``/``retrain`` to
``$GITHUB_OUTPUT`` (the retrain workflow).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from ..cli import make_parser, parse_args, run_stage
from ..core.frames import read_rows
from ..core.tasks import TASK, Task
from ..errors import StageError
from ..files import write_text
from ..params import MonitorParams
from ..settings import Settings
from .columns import SCHEMA, Features
from .drift import DriftSettings, feature_drift
from .feedback import parse_now
from .labels import champion_labels, read_store
from .performance import (
    HELD_BACK_RMSE_FACTOR,
    Alarm,
    alarms,
    calibration,
    held_back_rmse,
    join_labels,
    scores,
    windows,
)
from .predlog import in_window, log_directory, read_log
from .quality import missing_rates, window_checks
from .report import render_html, render_markdown

LOG = logging.getLogger(__name__)
SUMMARY_VERSION = 1
EXIT_CODES = {"healthy": 0, "drift": 3, "performance": 4, "drift_and_performance": 5}


@dataclass(frozen=True)
class Inputs:
    """What the monitor judged: the reference, the window's records, the labelled ones."""

    reference: pd.DataFrame
    window: pd.DataFrame
    joined: pd.DataFrame


def read_reference(settings: Settings) -> pd.DataFrame:
    """The training data, the reference every window is compared with."""
    path = settings.train_csv
    if not path.is_file():
        raise StageError(
            f"reference not found: {settings.relative(path)} (run `make repro`, or `make pull`)"
        )
    return SCHEMA.typed(read_rows(path))


def with_predictions(
    reference: pd.DataFrame, model: Path, features: Features = SCHEMA, task: Task = TASK
) -> pd.DataFrame:
    """For a regression, the reference with the trained model's predictions on it
    (``prediction``), when ``model`` (models/model.joblib) is there: a window's predictions are
    compared with them, not with the target, which spreads more (``quality.py``)."""
    if task.name != "regression" or not model.is_file():
        return reference
    predicted = task.predict(joblib.load(model), reference[list(features.names)], None)
    return reference.assign(prediction=predicted.labels)


def drift_section(inputs: Inputs, params: MonitorParams) -> dict[str, Any]:
    """Per-feature drift and the window checks, when the window has enough records."""
    settings = DriftSettings(
        params.alpha, params.psi_threshold, params.psi_bins, params.min_expected
    )
    section: dict[str, Any] = {
        "judged": len(inputs.window) >= params.min_records,
        "records": len(inputs.window),
        "min_records": params.min_records,
        "correction": "benjamini-hochberg",
        "alpha": params.alpha,
        "psi_threshold": params.psi_threshold,
        "features": {},
        "drifted_features": [],
        "checks": {},
        "failed_checks": [],
        "missing_rates": missing_rates(inputs.window),
    }
    if not section["judged"]:
        return section
    results = feature_drift(inputs.reference, inputs.window, settings)
    section["features"] = {result.feature: result.to_json() for result in results}
    section["drifted_features"] = [result.feature for result in results if result.drifted]
    section["checks"] = window_checks(inputs.window, inputs.reference, params)
    section["failed_checks"] = [name for name, c in section["checks"].items() if c["failed"]]
    return section


def performance_section(
    joined: pd.DataFrame,
    now: datetime,
    params: MonitorParams,
    task_alarms: list[Alarm],
    task: Task = TASK,
) -> dict[str, Any]:
    """Labelled performance of the last performance window, judged on enough labels against
    the task's alarms (not judged without a threshold)."""
    start = pd.Timestamp(now - timedelta(days=params.performance_window_days))
    recent = joined[(joined["time"] > start) & (joined["time"] <= pd.Timestamp(now))]
    labelled = recent[recent["actual"].notna()]
    thresholds = {alarm.key: alarm.threshold for alarm in task_alarms}
    sources = {f"{alarm.key}_source": alarm.source for alarm in task_alarms if alarm.source}
    section: dict[str, Any] = {
        "window_days": params.performance_window_days,
        "predictions": len(recent),
        "labelled": len(labelled),
        "unlabelled": len(recent) - len(labelled),
        "min_labelled": params.min_labelled,
        "judged": len(labelled) >= params.min_labelled
        and all(alarm.threshold is not None for alarm in task_alarms),
        **scores(labelled, task),
        **thresholds,
        **sources,
        "calibration": calibration(labelled, task),
        "failed": False,
    }
    if section["judged"]:
        section["failed"] = any(alarm.failed(section[alarm.score]) for alarm in task_alarms)
    return section


def verdict_of(drift: dict[str, Any], performance: dict[str, Any]) -> str:
    """healthy, drift, performance or drift_and_performance."""
    drifted = bool(drift["drifted_features"] or drift["failed_checks"])
    if drifted and performance["failed"]:
        return "drift_and_performance"
    if drifted:
        return "drift"
    return "performance" if performance["failed"] else "healthy"


def summarize(
    inputs: Inputs,
    log_info: dict[str, Any],
    now: datetime,
    params: MonitorParams,
    task_alarms: list[Alarm],
) -> dict[str, Any]:
    """The JSON summary: window, drift, checks, performance, verdict and exit code."""
    drift = drift_section(inputs, params)
    performance = performance_section(inputs.joined, now, params, task_alarms)
    verdict = verdict_of(drift, performance)
    notes = []
    if not drift["judged"]:
        notes.append(
            f"{drift['records']} record(s) in the window, fewer than monitor.min_records "
            f"({params.min_records}): drift not judged"
        )
    unset = [alarm.key for alarm in task_alarms if alarm.threshold is None]
    if unset:
        notes.append(
            f"monitor.{unset[0]} is null and reports/metrics.json has no held-back "
            f"{task_alarms[0].score} to take {HELD_BACK_RMSE_FACTOR} x of: performance not "
            f"judged (set monitor.{unset[0]}, or run `make repro`)"
        )
    elif not performance["judged"]:
        notes.append(
            f"{performance['labelled']} labelled prediction(s) in the last "
            f"{params.performance_window_days} days, fewer than monitor.min_labelled "
            f"({params.min_labelled}): performance not judged (add outcomes: make feedback)"
        )
    return {
        "version": SUMMARY_VERSION,
        "now": now.isoformat(),
        "window": {
            "days": params.window_days,
            "start": (now - timedelta(days=params.window_days)).isoformat(),
            "end": now.isoformat(),
            **log_info,
        },
        "reference": {"rows": len(inputs.reference)},
        "drift": drift,
        "performance": performance,
        "verdict": verdict,
        "exit_code": EXIT_CODES[verdict],
        "retrain": verdict != "healthy",
        "notes": notes,
    }


def run(now: datetime) -> dict[str, Any]:
    """Judge the window ending at ``now``; write and return the summary (and the report)."""
    settings = Settings()
    params = settings.params.monitor
    directory = log_directory(settings, params.log_dir, os.environ)
    since = now - timedelta(days=max(params.window_days, params.performance_window_days))
    log = read_log(directory, since=since)
    reference = with_predictions(read_reference(settings), settings.model)
    joined = join_labels(log.records, champion_labels(read_store(settings.feedback_labels), log))
    inputs = Inputs(reference, in_window(log.records, now, params.window_days), joined)
    log_info = {
        "directory": str(directory),
        "files": log.files,
        "partial_lines": log.partial_lines,
        "malformed_lines": log.malformed_lines,
    }
    task_alarms = alarms(params, TASK, held_back_rmse(settings.metrics))
    summary = summarize(inputs, log_info, now, params, task_alarms)
    summary["performance"]["windows"] = windows(joined, now, params.performance_window_days)
    summary["reference"]["path"] = settings.relative(settings.train_csv)
    write_text(settings.monitoring_summary, json.dumps(summary, indent=2) + "\n")
    write_text(settings.monitoring_report, render_html(summary, inputs.reference, inputs.window))
    for note in summary["notes"]:
        LOG.warning("%s", note)
    LOG.info(
        "%s: %d record(s) from %s to %s; drifted: %s; failed checks: %s; report: %s",
        summary["verdict"],
        len(inputs.window),
        summary["window"]["start"][:19],
        summary["window"]["end"][:19],
        ", ".join(summary["drift"]["drifted_features"]) or "none",
        ", ".join(summary["drift"]["failed_checks"]) or "none",
        settings.relative(settings.monitoring_report),
    )
    return summary


def publish_to_github(summary: dict[str, Any], environ: Mapping[str, str]) -> None:
    """The verdict in the job's step summary, ``verdict`` and ``retrain`` as step outputs."""
    if target := environ.get("GITHUB_STEP_SUMMARY"):
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(render_markdown(summary))
    if target := environ.get("GITHUB_OUTPUT"):
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(f"verdict={summary['verdict']}\n")
            handle.write(f"retrain={str(summary['retrain']).lower()}\n")


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument("--now", help="end of the window (ISO 8601; default: now)")
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 on drift or low performance too"
    )
    parser.add_argument(
        "--github", action="store_true", help="write to $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT"
    )
    args = parse_args(parser, argv)
    summaries: list[dict[str, Any]] = []

    def body() -> None:
        summaries.append(run(parse_now(args.now)))
        if args.github:
            publish_to_github(summaries[0], os.environ)

    status = run_stage("monitor", body)
    if status or args.exit_zero:
        return status
    code: int = summaries[0]["exit_code"]
    return code


if __name__ == "__main__":
    raise SystemExit(main())
