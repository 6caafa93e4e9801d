"""The service's prediction log: JSON Lines files ``predictions-*.jsonl``, one line per request.

Each line is ``{"time", "request", "response"}``: the request's body as the service received
it, ``{"records": [...]}``, and the response's body as it sent it, with ``request_id``,
``model`` (``name``, ``version``…) and ``predictions`` (docs/monitoring.md). It is read here,
never written, as one flat record per scored record (``COLUMNS``, features by their contract
names, the answer in the task's columns: :func:`answer_columns`). Each line is validated
with the log line's model of ``core/messages.py``. Features are kept as logged: a
string stays a string (a category the contract does not list too), ``null`` is a missing
value; the monitor judges them. A last line without its newline that does not parse is a
request being written or a writer that died: it is skipped and counted (``partial_lines``),
as is any other line that is not a complete request (``malformed_lines``); neither stops a
reader. A challenger's lines (``serve/challenger.py``) name the ``variant`` that answered (a
line without one is the champion's), and in shadow mode hold the challenger's answer to the
same records under ``shadow``: :attr:`LogRead.all_records` has them all, each with its
``variant`` and a ``shadow`` flag (the shadow answers as extra rows of variant ``challenger``);
:attr:`LogRead.records`, what the monitor and the feedback read, only the champion's answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..core.contract import Code
from ..core.messages import LogLine, log_line_model
from ..core.tasks import TASK, Task
from ..errors import StageError
from ..settings import Settings
from .columns import SCHEMA, Features

LOG = logging.getLogger(__name__)
LOG_DIR_ENV = "PREDICTION_LOG_DIR"
FILE_PATTERN = "predictions-*.jsonl"
KEY = ("request_id", "index")
META = (*KEY, "time", "model_name", "model_version")
CHAMPION, CHALLENGER = "champion", "challenger"
VARIANTS = ("variant", "shadow")  # who answered, and whether the answer was sent or shadowed
MAX_PROBLEMS_SHOWN = 3


@dataclass(frozen=True)
class LogRead:
    """The records read (one row each, ``time`` in UTC) and what was skipped: ``records``, the
    champion's answers (``COLUMNS``); ``all_records``, every answer, the challenger's and the
    shadow ones too (``COLUMNS`` and ``VARIANTS``)."""

    directory: Path
    records: pd.DataFrame
    all_records: pd.DataFrame
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


def answer_columns(task: Task) -> tuple[str, ...]:
    """The flat columns of a logged answer: binary ``probability``, ``prediction`` (its
    historical order); multiclass ``prediction``, ``probability_0`` … ``probability_<K-1>``;
    regression ``prediction``: the batch predictions file's columns (``Task.answer_columns``),
    so that ``Task.read_predictions`` reads a frame of logged records as it reads that file."""
    if task.name == "binary":
        return ("probability", "prediction")
    return task.answer_columns()


COLUMNS = (*META, *SCHEMA.names, *answer_columns(TASK))


def _classes(task: Task) -> tuple[Code, ...]:
    return tuple(getattr(task, "classes", ())) if task.name == "multiclass" else ()


def answer_problems(task: Task) -> dict[str, str]:
    """What each field of a logged answer must be, in words."""
    if task.name == "binary":
        return {
            "probability": "probability must be a number from 0 to 1",
            "prediction": "prediction must be 0 or 1",
        }
    if task.name == "multiclass":
        count = len(_classes(task))
        return {
            "prediction": f"prediction must be a class position from 0 to {count - 1}",
            "probabilities": f"probabilities must be {count} numbers from 0 to 1 summing to 1",
        }
    return {"prediction": "prediction must be a finite number"}


@cache
def line_model(features: Features, task: Task) -> type[LogLine]:
    """The model of a log line of ``features`` and ``task`` (``core/messages.py``)."""
    return log_line_model(features, task.name, _classes(task))


def parse_line(line: str, features: Features = SCHEMA, task: Task = TASK) -> list[dict[str, Any]]:
    """One log line (one request) as its flat records, in the request's order, then its shadow
    answers' records if any (``VARIANTS`` say which); ``ValueError`` says what is wrong."""
    try:
        parsed: Any = line_model(features, task).model_validate_json(line)
    except ValidationError as error:
        raise ValueError(_problem(line, error, features, task)) from None
    inputs = [
        {
            name: value if value is None or isinstance(value, str) else float(value)
            for name, value in zip(features.names, record.__dict__.values(), strict=True)
        }
        for record in parsed.request.records
    ]
    when = parsed.time.astimezone(UTC)
    rows = _answered(inputs, parsed.response, when, task, shadow=False)
    if parsed.shadow is not None:
        rows += _answered(inputs, parsed.shadow, when, task, shadow=True)
    return rows


def _answered(  # pylint: disable=too-many-arguments  # a line's parts
    inputs: list[dict[str, Any]], response: Any, when: datetime, task: Task, *, shadow: bool
) -> list[dict[str, Any]]:
    """The flat records of one response (sent or shadow) to a line's records."""
    shared = {
        "request_id": response.request_id,
        "time": when,
        "model_name": response.model.name,
        "model_version": response.model.version,
        "variant": CHALLENGER if shadow else response.variant,
        "shadow": shadow,
    }
    flat = _flat_answer(task)
    return [
        {"index": index, **shared, **record, **flat(answer)}
        for index, (record, answer) in enumerate(zip(inputs, response.predictions, strict=True))
    ]


def _flat_answer(task: Task) -> Callable[[Any], dict[str, Any]]:
    """A parsed logged answer of ``task`` as its flat columns (:func:`answer_columns`)."""
    if task.name == "binary":
        return lambda answer: {
            "probability": answer.probability,
            "prediction": int(answer.prediction),
        }
    if task.name == "multiclass":
        names = answer_columns(task)
        return lambda answer: dict(
            zip(names, [int(answer.prediction), *answer.probabilities], strict=True)
        )
    return lambda answer: {"prediction": answer.prediction}


# A line's envelope, in the order it is judged; then its records, each before its answer.
ENVELOPE = (
    (),
    ("time",),
    ("request",),
    ("response",),
    ("response", "request_id"),
    ("response", "model"),
    ("response", "variant"),
    ("shadow",),
    ("shadow", "request_id"),
    ("shadow", "model"),
    ("shadow", "variant"),
    ("request", "records"),
    ("response", "predictions"),
    ("shadow", "predictions"),
)
ANSWERS = (("response", "predictions"), ("shadow", "predictions"))
ITEMS = (("request", "records"), *ANSWERS)


def _rank(loc: tuple[int | str, ...]) -> tuple[int, ...]:
    """Where a problem at ``loc`` comes in the order a line is judged."""
    if len(loc) > 2 and loc[:2] in ITEMS:
        return (len(ENVELOPE), int(loc[2]), ITEMS.index(loc[:2]))
    return (
        next(
            rank
            for rank, place in enumerate(ENVELOPE)
            if loc[: len(place)] == place and (len(place) == 2 or len(loc) == len(place))
        ),
    )


def _problem(line: str, error: ValidationError, features: Features, task: Task) -> str:
    """The first thing wrong with a log line, in one line."""
    errors = error.errors(include_url=False)
    first = min(errors, key=lambda problem: _rank(problem["loc"]))
    loc = first["loc"]
    if len(loc) < 2 or (len(loc) == 2 and loc not in ANSWERS):
        return _envelope_problem(first)
    if (wrong_count := _answer_count(line)) is not None:
        return wrong_count
    where = f"{loc[0]}.{loc[1]}[{loc[2]}]"
    if len(loc) == 3:
        return f"{where} must be a JSON object"
    if loc[:2] in ANSWERS:
        return f"{where}: {answer_problems(task)[str(loc[3])]}"
    return f"{where}: {_record_problems(errors, loc[:3], features)}"


ENVELOPE_PROBLEMS: dict[tuple[int | str, ...], str] = {
    ("request",): "request and response must be JSON objects",
    ("response",): "request and response must be JSON objects",
    ("response", "request_id"): "response.request_id must be a non-empty string",
    ("response", "model"): "response.model must be a JSON object",
    ("response", "variant"): "response.variant must be champion or challenger",
    ("shadow",): "shadow must be a JSON object",
    ("shadow", "request_id"): "shadow.request_id must be a non-empty string",
    ("shadow", "model"): "shadow.model must be a JSON object",
    ("shadow", "variant"): "shadow.variant must be champion or challenger",
    ("request", "records"): "request.records must be a non-empty JSON array",
}


def _envelope_problem(first: ErrorDetails) -> str:
    """What is wrong with a line's JSON, its time, its request or its response."""
    loc, kind = first["loc"], first["type"]
    if kind == "json_invalid":
        return f"not JSON ({first['ctx']['error']})"
    if not loc:
        return "not a JSON object" if kind == "model_type" else first["msg"]
    if loc == ("time",):
        offset = kind in ("timezone_aware", "missing") or first["input"] is None
        return "time must be an ISO 8601 timestamp" + " with its UTC offset" * offset
    return ENVELOPE_PROBLEMS[loc[:2]]


def _answer_count(line: str) -> str | None:
    """What is wrong when a line (whose records are a list) has not one answer per record."""
    data = json.loads(line)
    records = data["request"]["records"]
    for part in ("response", "shadow"):
        answers = (data.get(part) or {}).get("predictions", records)
        if not isinstance(answers, list) or len(answers) != len(records):
            return f"{part}.predictions must be a JSON array of {len(records)} (one per record)"
    return None


def _record_problems(errors: list[ErrorDetails], where: tuple[Any, ...], features: Features) -> str:
    """What is wrong with the record at ``where``: the features absent, then those of the
    wrong kind."""
    kinds = {str(error["loc"][3]): error["type"] for error in errors if error["loc"][:3] == where}
    absent = [name for name, kind in kinds.items() if kind == "missing"]
    wrong = [
        f"{name} must be {features.expected(name)}"
        for name, kind in kinds.items()
        if kind != "missing"
    ]
    return "; ".join([f"features absent: {', '.join(absent)}"] * bool(absent) + wrong)


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
    records = features.typed(pd.DataFrame(rows, columns=[*columns(features, task), *VARIANTS]))
    records["time"] = pd.to_datetime(records["time"], utc=True)
    records["shadow"] = records["shadow"].astype(bool)
    repeated = records.duplicated(subset=[*KEY, "shadow"])
    if repeated.any():
        LOG.warning(
            "%d record(s) logged twice (same request_id and index): first kept", repeated.sum()
        )
        records = records[~repeated]
    records = records.sort_values("time", kind="stable").reset_index(drop=True)
    return LogRead(
        directory, champion_answers(records), records, len(files), partial, len(problems)
    )


def champion_answers(records: pd.DataFrame) -> pd.DataFrame:
    """The records that the champion answered (its shadow's left out), without ``VARIANTS``."""
    answered = (records["variant"] == CHAMPION) & ~records["shadow"]
    kept = [name for name in records.columns if name not in VARIANTS]
    return records.loc[answered, kept].reset_index(drop=True)


def in_window(records: pd.DataFrame, end: datetime, days: int) -> pd.DataFrame:
    """The records of the ``days`` days up to ``end``: after its start, up to ``end`` included."""
    start = pd.Timestamp(end - timedelta(days=days))
    chosen = (records["time"] > start) & (records["time"] <= pd.Timestamp(end))
    return records[chosen].reset_index(drop=True)
