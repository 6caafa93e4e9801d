"""The experiment report: is the challenger better than the champion on labelled traffic?

Usage, from the project root (``make ab-report``)::

    python -m <package>.monitoring.experiment

Reads every answer of the prediction log with its variant (``predlog.read_log``'s
``all_records``) and the labels that ``make feedback``
joined to it (``data/feedback/labels.csv``). The experiment starts at the first record the
current challenger (the newest challenger model version in the log) answered, and no earlier
than the last move of the registry's ``challenger`` alias to that version (its decision on
record, ``pipeline.aliases``): the same version challenged twice in a row is two
experiments. The design is
``shadow`` when the log holds shadow answers (the same records scored by both: paired
tests), else ``ab`` (each request answered by one variant: independent samples). For each of
the task's metrics (``comparison.py``: binary accuracy, log loss, ROC AUC; multiclass
accuracy, log loss; regression MAE, RMSE) it reports both values, the difference
(challenger minus champion) with its ``1 - alpha`` interval, the test's p-value, and the
labelled rows still needed to detect ``experiment.min_effect`` at ``experiment.power``.

The verdict is on ``experiment.primary_metric`` (none given: the task's first): exit status 0
when the challenger is significantly better at level ``experiment.alpha``, 3 when it is
significantly worse, 4 when there is not enough evidence yet (no labelled challenger
traffic, or no significant difference), 1 on an error. Writes
``reports/experiment/ab.json`` and a self-contained page, ``reports/experiment/ab.html``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..cli import make_parser, parse_args, run_stage
from ..core.tasks import TASK, Task
from ..errors import StageError
from ..files import write_text
from ..params import ExperimentParams
from ..pipeline.aliases import moved_at
from ..pipeline.promotion import CHALLENGER_ALIAS
from ..settings import Settings
from .comparison import MIN_ROWS, TASK_METRICS, Comparison, Design, Sample, as_dict, compare
from .experiment_page import percent, render_page
from .labels import read_store
from .predlog import CHALLENGER, CHAMPION, KEY, log_directory, read_log

LOG = logging.getLogger(__name__)
EXIT_CODES = {"better": 0, "worse": 3, "not_enough_evidence": 4}


def primary_metric(params: ExperimentParams, task: Task = TASK) -> str:
    """The metric the verdict is on; one that the task does not have is an error."""
    metrics = TASK_METRICS[task.name]
    chosen = params.primary_metric or metrics[0]
    if chosen not in metrics:
        raise StageError(
            f"params.yaml: experiment.primary_metric = {chosen}: a {task.name} task compares "
            f"{', '.join(metrics)}"
        )
    return chosen


@dataclass(frozen=True)
class Arms:
    """The experiment's labelled rows: each variant's (in shadow, row ``i`` of both is the
    same record), the design, when it started and each variant's logged records."""

    design: Design
    start: pd.Timestamp | None
    champion: pd.DataFrame
    challenger: pd.DataFrame
    logged: dict[str, int]


def newest_run(answered: pd.DataFrame) -> pd.DataFrame:
    """A variant's rows of its newest model version since another version last answered (a
    version challenged again later starts a new experiment)."""
    newest = answered["model_version"].iloc[-1]
    others = answered[answered["model_version"] != newest]
    current: pd.DataFrame = answered[answered["model_version"] == newest]
    if others.empty:
        return current
    since: pd.DataFrame = current[current["time"] > others["time"].max()]
    return since


def arms(records: pd.DataFrame, labels: pd.DataFrame, since: pd.Timestamp | None = None) -> Arms:
    """Split the log's answers (``predlog.LogRead.all_records``, in time order) into the
    experiment's two arms, each joined to its outcome (``labels``, by request id and index).

    The experiment is the newest challenger version's, from its first answer after ``since``
    (when the challenger alias moved to it; shadow when its answers are shadow answers:
    paired, else ab); the champion's rows are its newest version's, from the same time."""
    answered = records["variant"] == CHALLENGER
    if not answered.any():
        empty = records.iloc[:0].assign(actual=pd.Series(dtype=float))
        return Arms("ab", None, empty, empty, {CHAMPION: 0, CHALLENGER: 0})
    challenger = newest_run(records[answered])
    design: Design = "shadow" if challenger["shadow"].any() else "ab"
    served = records[(records["variant"] == CHAMPION) & ~records["shadow"]]
    champion = newest_run(served) if len(served) else served
    start = challenger["time"].min()
    if since is not None:
        start = max(start, since)
    if len(champion):
        start = max(start, champion["time"].min())
    champion, challenger = (
        champion[champion["time"] >= start],
        challenger[challenger["time"] >= start],
    )
    logged = {CHAMPION: len(champion), CHALLENGER: len(challenger)}
    outcomes = labels[[*KEY, "actual"]]
    champion = champion.merge(outcomes, on=list(KEY), how="inner")
    challenger = challenger.merge(outcomes, on=list(KEY), how="inner")
    if design == "shadow":
        keys = champion[list(KEY)].merge(challenger[list(KEY)], on=list(KEY))
        champion = keys.merge(champion, on=list(KEY), how="left")
        challenger = keys.merge(challenger, on=list(KEY), how="left")
    return Arms(design, start, champion, challenger, logged)


def sample(frame: pd.DataFrame, task: Task = TASK) -> Sample:
    """A variant's labelled rows as the statistics read them."""
    answers = task.read_predictions(frame)
    labels = np.asarray(answers.labels, dtype=float)
    scores = labels if answers.scores is None else np.asarray(answers.scores, dtype=float)
    return Sample(frame["actual"].to_numpy(dtype=float), labels, scores)


def verdict(primary: Comparison, params: ExperimentParams, started: bool = True) -> tuple[str, str]:
    """The verdict and its line, with the numbers."""
    unit = "pairs" if primary.design == "shadow" else "rows"
    if not started:
        return "not_enough_evidence", (
            "not enough evidence: no answer of a challenger in the log "
            "(is the service's CHALLENGER_MODE ab or shadow?)"
        )
    if primary.champion is None or primary.challenger is None or primary.p_value is None:
        each_class = " of each class" if primary.metric == "roc_auc" else ""
        return "not_enough_evidence", (
            f"not enough evidence: {primary.rows} labelled {unit} in the {primary.design} "
            f"experiment; {primary.metric} is tested from {MIN_ROWS} labelled rows per "
            f"variant{each_class}" + _needed_text(primary, params)
        )
    interval = (
        "n/a"
        if primary.low is None or primary.high is None
        else f"{primary.low:+.4f} to {primary.high:+.4f}"
    )
    values = (
        f"{primary.metric} {primary.challenger:.4f} vs champion {primary.champion:.4f} "
        f"({primary.difference:+.4f}, {percent(1 - params.alpha)} interval {interval}; "
        f"{primary.test}: p = {primary.p_value:.3g}; {primary.rows} labelled {unit}, "
        f"{primary.design})"
    )
    if primary.significant(params.alpha):
        if primary.challenger_better():
            return "better", f"challenger better: {values}"
        return "worse", f"challenger worse: {values}"
    return "not_enough_evidence", (
        f"no significant difference yet: {values}, p not below alpha {params.alpha}"
        + _needed_text(primary, params)
    )


def _needed_text(primary: Comparison, params: ExperimentParams) -> str:
    if primary.needed is None:
        return ""
    unit = "pairs" if primary.design == "shadow" else "rows (both variants)"
    more = max(primary.needed - primary.rows, 0)
    return (
        f"; about {primary.needed} labelled {unit} are needed to detect a difference of "
        f"{params.min_effect} with power {percent(params.power)} ({more} more)"
    )


def analyse(
    records: pd.DataFrame,
    labels: pd.DataFrame,
    params: ExperimentParams,
    task: Task = TASK,
    since: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The experiment's summary (``ab.json``): design, arms, comparisons, verdict."""
    primary_name = primary_metric(params, task)
    split = arms(records, labels, since)
    first, second = sample(split.champion, task), sample(split.challenger, task)
    names = [primary_name, *(name for name in TASK_METRICS[task.name] if name != primary_name)]
    comparisons = [compare(name, split.design, first, second, params) for name in names]
    primary = comparisons[0]
    decided, line = verdict(primary, params, split.start is not None)
    return {
        "version": 1,
        "task": task.name,
        "design": split.design,
        "start": None if split.start is None else split.start.isoformat(),
        "alpha": params.alpha,
        "power": params.power,
        "min_effect": params.min_effect,
        "primary_metric": primary_name,
        "variants": {
            name: {
                "model_versions": sorted({str(v) for v in frame["model_version"].dropna()}),
                "logged": split.logged[name],
                "labelled": len(frame),
            }
            for name, frame in ((CHAMPION, split.champion), (CHALLENGER, split.challenger))
        },
        "metrics": [as_dict(comparison) for comparison in comparisons],
        "needed": primary.needed,
        "still_needed": None if primary.needed is None else max(primary.needed - primary.rows, 0),
        "verdict": decided,
        "exit_code": EXIT_CODES[decided],
        "message": line,
    }


def challenger_chosen_at(settings: Settings, records: pd.DataFrame) -> pd.Timestamp | None:
    """When the challenger alias last moved to the log's newest challenger version, if the
    registry recorded it (``None``: no challenger in the log, or an exported one)."""
    answered = records[records["variant"] == CHALLENGER]
    if answered.empty:
        return None
    moved = moved_at(settings, CHALLENGER_ALIAS, str(answered["model_version"].iloc[-1]))
    return None if moved is None else pd.Timestamp(moved)


def run() -> dict[str, Any]:
    """Read the log and the labels, compare, write the reports; return the summary."""
    settings = Settings()
    params = settings.params
    primary_metric(params.experiment)
    log = read_log(log_directory(settings, params.monitor.log_dir, os.environ))
    summary = analyse(
        log.all_records,
        read_store(settings.feedback_labels),
        params.experiment,
        since=challenger_chosen_at(settings, log.all_records),
    )
    write_text(settings.experiment_report, json.dumps(summary, indent=2) + "\n")
    write_text(settings.experiment_page, render_page(summary))
    LOG.info("%s", summary["message"])
    LOG.info(
        "written: %s, %s",
        settings.relative(settings.experiment_report),
        settings.relative(settings.experiment_page),
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parse_args(make_parser(__doc__), argv)
    summary: dict[str, Any] = {}
    status = run_stage("ab-report", lambda: summary.update(run()))
    return status or int(summary["exit_code"])


if __name__ == "__main__":
    raise SystemExit(main())
