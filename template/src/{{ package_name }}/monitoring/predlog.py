"""The service's prediction log: JSON Lines files ``predictions-*.jsonl``, one line per record.

Each line is ``{"request_id", "index", "time", "model": {"name", "version"}, "features":
{...}, "probability", "prediction"}`` (docs/monitoring.md). The log is read, never written,
here. A last line without its newline that does not parse is a record being written or a writer
that died: it is skipped and counted (``partial_lines``), as is any other line that is not a
complete record (``malformed_lines``); neither stops a reader.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Artifacts
from ..core.schema import FEATURES
from ..errors import StageError

LOG = logging.getLogger(__name__)
LOG_DIR_ENV = "PREDICTION_LOG_DIR"
FILE_PATTERN = "predictions-*.jsonl"
KEY = ("request_id", "index")
COLUMNS = (*KEY, "time", "model_name", "model_version", *FEATURES, "probability", "prediction")
MAX_PROBLEMS_SHOWN = 3


@dataclass(frozen=True)
class LogRead:
    """The records read (one row each, ``COLUMNS``, ``time`` in UTC) and what was skipped."""

    directory: Path
    records: pd.DataFrame
    files: int
    partial_lines: int
    malformed_lines: int


def log_directory(artifacts: Artifacts, configured: str, environ: Mapping[str, str]) -> Path:
    """``PREDICTION_LOG_DIR`` if set, else ``monitor.log_dir`` (relative to the project root)."""
    chosen = environ.get(LOG_DIR_ENV, "").strip() or configured
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else artifacts.root / path


def parse_record(line: str) -> dict[str, Any]:
    """One log line as a flat record; ``ValueError`` says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    request_id, index = data.get("request_id"), data.get("index")
    if not isinstance(request_id, str) or not request_id:
        raise ValueError("request_id must be a non-empty string")
    if not _is_int(index) or index < 0:
        raise ValueError("index must be an integer >= 0")
    try:
        time = pd.Timestamp(data.get("time"))
    except (TypeError, ValueError):
        raise ValueError("time must be an ISO 8601 timestamp") from None
    if pd.isna(time) or time.tzinfo is None:
        raise ValueError("time must be an ISO 8601 timestamp with its UTC offset")
    model = data.get("model") or {}
    features = data.get("features")
    if not isinstance(model, dict) or not isinstance(features, dict):
        raise ValueError("model and features must be JSON objects")
    values = {name: features.get(name) for name in FEATURES}
    missing = [name for name, value in values.items() if not _is_number(value)]
    if missing:
        raise ValueError(f"features without a number: {', '.join(missing)}")
    probability, prediction = data.get("probability"), data.get("prediction")
    if not _is_number(probability) or not 0 <= probability <= 1:
        raise ValueError("probability must be a number from 0 to 1")
    if prediction not in (0, 1) or isinstance(prediction, bool):
        raise ValueError("prediction must be 0 or 1")
    return {
        "request_id": request_id,
        "index": index,
        "time": time.tz_convert("UTC"),
        "model_name": _text(model.get("name")),
        "model_version": _text(model.get("version")),
        **{name: float(value) for name, value in values.items()},
        "probability": float(probability),
        "prediction": int(prediction),
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def log_files(directory: Path, since: datetime | None = None) -> list[Path]:
    """The log's files, oldest name first, in ``directory`` and below it (in a cluster, each
    pod writes to a subdirectory of its own); with ``since``, only those written to since then."""
    if not directory.is_dir():
        raise StageError(
            f"no prediction log: {directory} is not a directory "
            f"(set {LOG_DIR_ENV} or monitor.log_dir in params.yaml)"
        )
    files = sorted(directory.glob(f"**/{FILE_PATTERN}"), key=lambda path: (path.name, path))
    if not files:
        raise StageError(f"no prediction log: no {FILE_PATTERN} file in {directory}")
    if since is None:
        return files
    # A file last modified before the window holds no record of it (a copy only looks newer).
    cutoff = since.timestamp()
    return [path for path in files if path.stat().st_mtime >= cutoff]


def read_file(path: Path) -> tuple[list[dict[str, Any]], int, list[str]]:
    """One file's records, its partial last line (0 or 1) and its malformed lines."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        lines = handle.read().split("\n")
    rows: list[dict[str, Any]] = []
    partial = 0
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(parse_record(line))
        except ValueError as error:
            if number == len(lines):  # after the last newline: "" when the file is complete
                partial += 1
            else:
                problems.append(f"{path.name}:{number}: {error}")
    return rows, partial, problems


def read_log(directory: Path, since: datetime | None = None) -> LogRead:
    """Every complete record of the log (of the files touched ``since``, if given)."""
    rows: list[dict[str, Any]] = []
    partial = 0
    problems: list[str] = []
    files = log_files(directory, since)
    for path in files:
        file_rows, file_partial, file_problems = read_file(path)
        rows += file_rows
        partial += file_partial
        problems += file_problems
    if partial:
        LOG.warning("%d partial last line(s) skipped (a writer stopped mid-line)", partial)
    if problems:
        more = len(problems) - MAX_PROBLEMS_SHOWN
        LOG.warning(
            "%d malformed line(s) skipped: %s%s",
            len(problems),
            "; ".join(problems[:MAX_PROBLEMS_SHOWN]),
            f" (and {more} more)" if more > 0 else "",
        )
    records = pd.DataFrame(rows, columns=list(COLUMNS))
    records["time"] = pd.to_datetime(records["time"], utc=True)
    repeated = records.duplicated(subset=list(KEY))
    if repeated.any():
        LOG.warning(
            "%d record(s) logged twice (same request_id and index): first kept", repeated.sum()
        )
        records = records[~repeated]
    records = records.sort_values("time", kind="stable").reset_index(drop=True)
    return LogRead(directory, records, len(files), partial, len(problems))


def in_window(records: pd.DataFrame, end: datetime, days: int) -> pd.DataFrame:
    """The records of the ``days`` days up to ``end``: after its start, up to ``end`` included."""
    start = pd.Timestamp(end - timedelta(days=days))
    chosen = (records["time"] > start) & (records["time"] <= pd.Timestamp(end))
    return records[chosen].reset_index(drop=True)
