"""The service's prediction log: JSON Lines files ``predictions-*.jsonl``, one line per request.

Each line is ``{"time", "request", "response"}``: the request's body as the service received
it, ``{"records": [...]}``, and the response's body as it sent it, with ``request_id``,
``model`` (``name``, ``version``…) and ``predictions`` (docs/monitoring.md). It is read here,
never written, as one flat record per scored record (``COLUMNS``, features by their contract
names, the answer in the task's columns: ``answers.py``). Features are kept as logged: a
string stays a string (a category the contract does not list too), ``null`` is a missing
value; the monitor judges them. A last line without its newline that does not parse is a
request being written or a writer that died: it is skipped and counted (``partial_lines``),
as is any other line that is not a complete request (``malformed_lines``); neither stops a
reader.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    create_model,
)

from ..core.tasks import TASK, Task
from ..errors import StageError
from ..settings import Settings
from .answers import FiniteNumber, answer_columns, parse_answer
from .columns import SCHEMA, Features

LOG = logging.getLogger(__name__)
LOG_DIR_ENV = "PREDICTION_LOG_DIR"
FILE_PATTERN = "predictions-*.jsonl"
KEY = ("request_id", "index")
META = (*KEY, "time", "model_name", "model_version")
ANSWER = answer_columns(TASK)
COLUMNS = (*META, *SCHEMA.names, *ANSWER)
MAX_PROBLEMS_SHOWN = 3


@dataclass(frozen=True)
class LogRead:
    """The records read (one row each, ``COLUMNS``, ``time`` in UTC) and what was skipped."""

    directory: Path
    records: pd.DataFrame
    files: int
    partial_lines: int
    malformed_lines: int


def log_directory(settings: Settings, configured: str, environ: Mapping[str, str]) -> Path:
    """``PREDICTION_LOG_DIR`` if set, else ``monitor.log_dir`` (relative to the project root)."""
    chosen = environ.get(LOG_DIR_ENV, "").strip() or configured
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else settings.root / path


def columns(features: Features = SCHEMA, task: Task = TASK) -> tuple[str, ...]:
    """The columns of a frame of records: ``COLUMNS`` for another contract's features and task."""
    return (*META, *features.names, *answer_columns(task))


def parse_line(line: str, features: Features = SCHEMA, task: Task = TASK) -> list[dict[str, Any]]:
    """One log line (one request) as its flat records, in the request's order; ``ValueError``
    says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    time = _time(data.get("time"))
    request, response = data.get("request"), data.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise ValueError("request and response must be JSON objects")
    request_id, model = response.get("request_id"), response.get("model")
    if not isinstance(request_id, str) or not request_id:
        raise ValueError("response.request_id must be a non-empty string")
    if not isinstance(model, dict):
        raise ValueError("response.model must be a JSON object")
    records, predictions = request.get("records"), response.get("predictions")
    if not isinstance(records, list) or not records:
        raise ValueError("request.records must be a non-empty JSON array")
    if not isinstance(predictions, list) or len(predictions) != len(records):
        raise ValueError(
            f"response.predictions must be a JSON array of {len(records)} (one per record)"
        )
    shared = {
        "request_id": request_id,
        "time": time,
        "model_name": _text(model.get("name")),
        "model_version": _text(model.get("version")),
    }
    return [
        {
            "index": index,
            **shared,
            **_features(record, index, features),
            **parse_answer(answer, index, task),
        }
        for index, (record, answer) in enumerate(zip(records, predictions, strict=True))
    ]


def _time(value: Any) -> pd.Timestamp:
    """An ISO 8601 timestamp with its UTC offset, in UTC."""
    try:
        time = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError("time must be an ISO 8601 timestamp") from None
    if pd.isna(time) or time.tzinfo is None:
        raise ValueError("time must be an ISO 8601 timestamp with its UTC offset")
    return time.tz_convert("UTC")


@cache
def record_model(features: Features) -> type[BaseModel]:
    """The pydantic model of a logged record: each feature under its contract name, a string
    feature a string, a boolean true/false or a number, any other a finite number; ``null``
    anywhere (a missing value, judged by the monitor, not here); a feature that may be missing
    may also be left out; other keys are ignored."""
    fields: dict[str, Any] = {}
    for position, name in enumerate(features.names):
        kind: Any = FiniteNumber
        if name in features.strings:
            kind = StrictStr
        elif name in features.booleans:
            kind = StrictBool | FiniteNumber
        default = None if name in features.may_be_missing else ...
        fields[f"feature_{position}"] = (kind | None, Field(default, alias=name))
    return create_model("LoggedRecord", __config__=ConfigDict(extra="ignore"), **fields)


def _features(record: Any, index: int, features: Features) -> dict[str, float | str | None]:
    """A record's features by contract name: floats (a boolean as 0.0 or 1.0), strings, None."""
    if not isinstance(record, dict):
        raise ValueError(f"request.records[{index}] must be a JSON object")
    try:
        values = record_model(features).model_validate(record).__dict__.values()
    except ValidationError as error:
        problems = {str(problem["loc"][0]): problem["type"] for problem in error.errors()}
        absent = [name for name, kind in problems.items() if kind == "missing"]
        wrong = [
            f"{name} must be {features.expected(name)}"
            for name, kind in problems.items()
            if kind != "missing"
        ]
        if absent:
            wrong.insert(0, f"features absent: {', '.join(absent)}")
        raise ValueError(f"request.records[{index}]: {'; '.join(wrong)}") from None
    return {
        name: value if value is None or isinstance(value, str) else float(value)
        for name, value in zip(features.names, values, strict=True)
    }


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


def read_file(
    path: Path, features: Features = SCHEMA, task: Task = TASK
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """One file's records, its partial last line (0 or 1) and its malformed lines (a line is
    a request: all its records or none)."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        lines = handle.read().split("\n")
    rows: list[dict[str, Any]] = []
    partial = 0
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows += parse_line(line, features, task)
        except ValueError as error:
            if number == len(lines):  # after the last newline: "" when the file is complete
                partial += 1
            else:
                problems.append(f"{path.name}:{number}: {error}")
    return rows, partial, problems


def check_names(features: Features, task: Task) -> None:
    """Refuse a feature named like a column the monitor adds to each record."""
    added = (*META, *answer_columns(task))
    clashes = [name for name in features.names if name in added]
    if clashes:
        raise StageError(
            f"the feature(s) {', '.join(clashes)} have the name of a column the monitor adds to "
            f"each record ({', '.join(added)}): rename them in the data contract"
        )


def read_log(
    directory: Path,
    since: datetime | None = None,
    features: Features = SCHEMA,
    task: Task = TASK,
) -> LogRead:
    """Every complete record of the log (of the files touched ``since``, if given), its
    features typed as :meth:`.Features.typed` says."""
    check_names(features, task)
    rows: list[dict[str, Any]] = []
    partial = 0
    problems: list[str] = []
    files = log_files(directory, since)
    for path in files:
        file_rows, file_partial, file_problems = read_file(path, features, task)
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
    records = features.typed(pd.DataFrame(rows, columns=list(columns(features, task))))
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
