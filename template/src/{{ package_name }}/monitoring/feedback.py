"""Ground-truth feedback: join outcomes to the prediction log and report labelled performance.

Usage, from the project root::

    python -m <package>.monitoring.feedback [--labels LABELS.csv] [--now ISO-8601]

With ``--labels``, the file's outcomes (``request_id``, ``actual``, optional ``index``) are
joined to the logged predictions and kept in ``data/feedback/labels.csv`` (see ``labels.py``:
``actual`` per task; a file with a bad row is refused whole, one line per bad row). Then, with
or without a label file, it reports the task's scores of the labelled predictions (binary:
ROC AUC, log loss, accuracy and the Brier score; multiclass: macro F1, accuracy and log loss;
regression: RMSE, MAE and R², ``performance.py``) per window of
``monitor.performance_window_days`` days up to ``--now`` (default: the current time), with
how many predictions are still unlabelled, in the log and in
``reports/monitoring/performance.json``.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..cli import make_parser, parse_args, run_stage
from ..core.tasks import TASK, Task
from ..errors import StageError
from ..files import write_text
from ..settings import Settings
from .labels import champion_labels, ingest, read_store, sent_answers, write_store
from .performance import calibration, join_labels, score_labels, scores, windows
from .predlog import log_directory, read_log

LOG = logging.getLogger(__name__)


def parse_now(text: str | None) -> datetime:
    """``--now``: an ISO 8601 time (UTC when it has no offset), else the current time."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise StageError(
            f"--now {text!r} is not an ISO 8601 time, e.g. 2026-12-01T00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe(window: dict[str, Any], task: Task = TASK) -> str:
    """One line per window, e.g. ``… 120 of 300 labelled: ROC AUC 0.861, …``."""
    names = score_labels(task)
    values = ", ".join(
        f"{label} {window[key]:.3f}" for key, label in names.items() if window[key] is not None
    )
    return (
        f"{window['start'][:10]} to {window['end'][:10]}: {window['labelled']} of "
        f"{window['predictions']} predictions labelled ({window['unlabelled']} unlabelled)"
        + (f": {values}" if values else "")
    )


def run(labels_path: Path | None, now: datetime) -> dict[str, Any]:
    """Ingest ``labels_path`` (if given), then write and return the performance report."""
    settings = Settings()
    params = settings.params.monitor
    log = read_log(log_directory(settings, params.log_dir, os.environ))
    store = read_store(settings.feedback_labels)
    if labels_path is not None:
        store, ingested = ingest(labels_path, sent_answers(log), store, now)
        if ingested.added:
            write_store(settings.feedback_labels, store)
        LOG.info(
            "%s: %d label(s) added, %d already stored; %d labelled prediction(s) in %s",
            labels_path,
            ingested.added,
            ingested.already_stored,
            ingested.stored,
            settings.relative(settings.feedback_labels),
        )
    joined = join_labels(log.records, champion_labels(store, log))
    labelled = joined[joined["actual"].notna()]
    recent = windows(joined, now, params.performance_window_days)
    report = {
        "version": 1,
        "now": now.isoformat(),
        "window_days": params.performance_window_days,
        "predictions": len(joined),
        "labelled": len(labelled),
        "unlabelled": len(joined) - len(labelled),
        "overall": scores(labelled),
        "calibration": calibration(labelled),
        "windows": recent,
    }
    write_text(settings.performance_report, json.dumps(report, indent=2) + "\n")
    for window in recent:
        LOG.info("%s", describe(window))
    return report


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument("--labels", type=Path, help="CSV file of request_id, actual[, index]")
    parser.add_argument("--now", help="end of the newest window (ISO 8601; default: now)")
    args = parse_args(parser, argv)
    return run_stage("feedback", lambda: run(args.labels, parse_now(args.now)))


if __name__ == "__main__":
    raise SystemExit(main())
