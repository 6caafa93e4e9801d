"""Outcomes that arrive after the prediction: label files in, the joined labels kept.

A label file is a CSV file with ``request_id``, ``actual`` and, optionally, ``index`` (the
record's position in its request, default 0). ``actual`` is, by the contract's task: 0 or 1
(binary, 1 the positive class); one of the target's classes as the contract lists them
(multiclass, kept as its position in that list, as the prepared target and the logged
prediction are); a finite number (regression). Every row is checked before
anything is stored: a file with one bad row is refused whole, with one line per bad row
naming its line number. The joined labels (the logged record with its outcome) are kept in
``data/feedback/labels.csv``, written atomically; the same outcome given twice is a no-op,
a different one for an already labelled prediction is an error. A label may be of any answer
the service sent, the champion's or, in ``ab`` mode, the challenger's (:func:`sent_answers`);
the monitor's and the feedback report's performance is the champion's
(:func:`champion_labels`), the challenger's is the experiment's (``make ab-report``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..core.tasks import TASK, Task
from ..errors import StageError
from ..files import atomic_output
from .columns import SCHEMA, Features
from .predlog import CHALLENGER, COLUMNS, KEY, VARIANTS, LogRead, columns

REQUIRED = ("request_id", "actual")
OPTIONAL = ("index",)
STORE_COLUMNS = (*COLUMNS, "actual", "labelled_at")
ACTUALS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


@dataclass(frozen=True)
class Ingested:
    """What one label file added: new labels, labels already stored, the store's size."""

    added: int
    already_stored: int
    stored: int


def store_columns(features: Features = SCHEMA, task: Task = TASK) -> tuple[str, ...]:
    """``STORE_COLUMNS`` for another contract's features and task."""
    return (*columns(features, task), "actual", "labelled_at")


def read_store(path: Path, features: Features = SCHEMA, task: Task = TASK) -> pd.DataFrame:
    """The joined labels kept so far (an empty table before the first label file)."""
    if not path.is_file():
        return pd.DataFrame(columns=list(store_columns(features, task)))
    text = {"request_id": str, "model_name": str, "model_version": str, **features.csv_types()}
    store = features.typed(pd.read_csv(path, dtype=text))
    store["time"] = pd.to_datetime(store["time"], utc=True, format="ISO8601")
    return store


def write_store(
    path: Path, store: pd.DataFrame, features: Features = SCHEMA, task: Task = TASK
) -> None:
    """Replace the store with ``store`` (sorted by time, then key), atomically."""
    ordered = store.sort_values(["time", *KEY], kind="stable")
    ordered = ordered[list(store_columns(features, task))]
    with atomic_output(path) as partial:
        ordered.to_csv(partial, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")


def sent_answers(log: LogRead) -> pd.DataFrame:
    """Every answer the service sent (the champion's and, in ab mode, the challenger's; not the
    shadow ones), in ``COLUMNS``: what a label file's outcomes are joined to."""
    records = log.all_records
    return records.loc[~records["shadow"], list(records.columns.drop(list(VARIANTS)))]


def champion_labels(store: pd.DataFrame, log: LogRead) -> pd.DataFrame:
    """The stored labels but those of the answers the log says the challenger sent."""
    records = log.all_records
    challenger = records[(records["variant"] == CHALLENGER) & ~records["shadow"]]
    if challenger.empty or store.empty:
        return store
    theirs = pd.MultiIndex.from_frame(store[list(KEY)]).isin(
        pd.MultiIndex.from_frame(challenger[list(KEY)])
    )
    return store[~theirs]


def read_label_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The label file's rows as text, each with its line number; column problems raise."""
    if not path.is_file():
        raise StageError(f"label file not found: {path}")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = [(reader.line_num, dict(row)) for row in reader]
    except (UnicodeDecodeError, csv.Error) as error:
        raise StageError(f"{path}: not a readable CSV file ({error})") from None
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in (*REQUIRED, *OPTIONAL)]
    if missing or unknown:
        parts = [f"missing column(s) {', '.join(missing)}"] if missing else []
        parts += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        raise StageError(
            f"{path}: {'; '.join(parts)} (a label file has request_id, actual and, "
            "optionally, index)"
        )
    if not rows:
        raise StageError(f"{path}: no labels (only a header)")
    return rows


def parse_actual(text: str, task: Task = TASK) -> float:
    """An outcome as the store keeps it (``ValueError`` says what it must be)."""
    text = text.strip()
    if task.name == "binary":
        if text not in ACTUALS:
            raise ValueError("actual must be 0 or 1")
        return ACTUALS[text]
    if task.name == "multiclass":
        classes = [str(value) for value in getattr(task, "classes", ())]
        if text not in classes:
            raise ValueError(f"actual must be one of the classes {', '.join(classes)}")
        return classes.index(text)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError("actual must be a finite number")
    return number


def _parse_row(row: Mapping[str, str | None], task: Task) -> tuple[str, int, float]:
    """``(request_id, index, actual)`` of one row; ``ValueError`` says what is wrong."""
    if None in row or any(value is None for value in row.values()):
        raise ValueError("wrong number of fields")
    request_id = (row.get("request_id") or "").strip()
    if not request_id:
        raise ValueError("request_id is empty")
    actual = parse_actual(row.get("actual") or "", task)
    text = (row.get("index") or "0").strip()
    if not text.isdigit():
        raise ValueError("index must be an integer >= 0")
    return request_id, int(text), actual


def _shown(row: Mapping[str, str | None]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in row.items() if key is not None)


@dataclass(frozen=True)
class Checked:
    """A label file's rows, checked: the new outcomes, how many were stored, the errors."""

    new: list[tuple[str, int, float]]
    already_stored: int
    errors: list[str]


def check_rows(
    path: Path, logged: pd.Index, stored: Mapping[Hashable, float], task: Task = TASK
) -> Checked:
    """Check every row of the label file against the log's keys and the ``stored`` labels
    (by request id and index)."""
    checked = Checked([], 0, [])
    seen: dict[tuple[str, int], int] = {}
    already = 0
    for line, row in read_label_rows(path):
        try:
            request_id, index, actual = _parse_row(row, task)
            key = (request_id, index)
            if key in seen:
                raise ValueError(f"duplicate of line {seen[key]}")
            seen[key] = line
            if key in stored:
                if float(stored[key]) != actual:
                    raise ValueError(
                        f"conflicts with the stored label {_shown_actual(stored[key])}"
                    )
                already += 1
            elif key not in logged:
                raise ValueError("no such prediction in the log")
            else:
                checked.new.append((request_id, index, actual))
        except ValueError as error:
            checked.errors.append(f"{path}: line {line}: {error}: {_shown(row)}")
    return Checked(checked.new, already, checked.errors)


def _shown_actual(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def ingest(
    path: Path, records: pd.DataFrame, store: pd.DataFrame, now: datetime, task: Task = TASK
) -> tuple[pd.DataFrame, Ingested]:
    """The store with the label file's outcomes joined to the logged ``records``.

    Raises a :class:`StageError` listing every bad row (nothing is stored then).
    """
    logged = records.set_index(list(KEY))
    stored = store.set_index(list(KEY))["actual"].to_dict() if len(store) else {}
    checked = check_rows(path, logged.index, stored, task)
    if checked.errors:
        summary = f"{path}: {len(checked.errors)} bad row(s); nothing stored"
        raise StageError("\n".join([summary, *checked.errors]))
    if not checked.new:
        return store, Ingested(0, checked.already_stored, len(store))
    joined = logged.loc[[(request_id, index) for request_id, index, _ in checked.new]]
    joined = joined.reset_index().assign(
        actual=[actual for *_, actual in checked.new], labelled_at=now.isoformat()
    )
    result = pd.concat([store, joined], ignore_index=True) if len(store) else joined
    return result, Ingested(len(joined), checked.already_stored, len(result))
