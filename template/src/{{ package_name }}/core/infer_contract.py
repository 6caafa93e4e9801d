"""A first data contract for a table of one's own: ``make contract DATA=file TARGET=column``.

``python -m <package>.core.infer_contract TABLE --target COLUMN [--task TASK] [--id COLUMN]
[--positive VALUE] [--output data/contract.yaml] [--force]`` reads a CSV or Parquet table and
writes a contract that :mod:`.contract` loads. Every column is judged on its values, by these rules:

- **boolean**: the values are True/False (any case) or exactly 0 and 1;
- **categorical, integer codes**: whole numbers with at most 6 distinct values, and no more
  distinct values than 5 % of the rows (a count such as 0 to 9 calls reads as numeric);
- **numeric**: any other numbers; the range is the data's, widened by 10 % of its span on each
  side (floored at 0 when no value is negative) and rounded outwards to two significant
  digits of the span, so that new data a little beyond the extremes passes validation;
- **categorical, strings**: words with at most 20 distinct values, each seen twice on average,
  or at most 50 each seen 20 times on average (a large table's codes such as regions);
- **ignored**: a column with one value (nothing to learn), dates (kind ``datetime``, ISO 8601),
  free text (kind ``text``: many distinct words) and any column other than ``--id`` whose
  whole numbers or words differ on every row (an id); each gets one line on stderr saying why
  and how to bring it in.

A feature with gaps gets ``missing: true`` (the model imputes it). Without ``--id`` the rows
are numbered by prepare (an ``id`` entry says so). The task, unless ``--task`` names it:
**binary** for two target values (or ``--positive`` naming the value that is class 1 among
more; the positive class is ``--positive``, else 1, ``yes`` or ``true`` when present, else the
rarer class); **regression** for numbers that are not whole or take more than 10 values;
**multiclass** for 3 to 20 values otherwise (each class needs two rows).

An existing contract is never overwritten without ``--force``: the table is compared with it
instead. A removed column, a changed kind or other target classes break it (exit status 1,
each listed); a new column, values beyond a range, a new category or new gaps are reported
(exit status 0). Bad input (no such file, no header, no rows, an unknown or unusable target)
ends in one line and exit status 1, with nothing written.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from ..cli import make_parser, parse_args, run_stage
from ..errors import StageError
from ..files import write_text
from ..settings import Settings
from .contract import Column, Contract, load, parse

LOG = logging.getLogger(__name__)
TABLE_SUFFIXES = (".csv", ".parquet")
TASKS = ("binary", "multiclass", "regression")
MARGIN = 0.1  # a numeric range: the data's span widened by this share on each side
MAX_CODES = 6  # whole numbers with at most this many values are integer codes ...
MAX_CODE_SHARE = 0.05  # ... when that is at most this share of the rows
MAX_WORDS = 20  # words with at most this many values (each seen twice on average) are categories
MAX_LEVELS = 50  # ... and with up to this many in a large table, each seen 20 times on average
MIN_LEVEL_ROWS = 20
TRUE_WORDS = ("1", "yes", "true")  # the positive class when the target has one of them
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
MAX_CLASSES = 10  # a target of whole numbers with more values than this is a regression's


@dataclass(frozen=True)
class Facts:
    """What a column's values showed: the basis of its entry and of the comparison."""

    kind: str
    values: tuple[Any, ...] = ()  # the distinct values of a categorical or boolean column
    low: float | None = None  # a numeric column's extremes
    high: float | None = None
    gaps: int = 0


@dataclass(frozen=True)
class Inference:
    """The inferred contract (as written to YAML), the facts behind it and what to tell."""

    data: dict[str, Any]
    facts: dict[str, Facts]
    notes: list[str] = field(default_factory=list)

    def text(self, source: str, rows: int) -> str:
        """The contract's YAML, under a header that says how it was made."""
        body = yaml.dump(self.data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=92)
        return HEADER.format(source=source, rows=rows) + body


class _Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    """YAML with lists on one line (``range: [0, 120]``), as people write the contract."""


_Dumper.add_representer(
    list, lambda dumper, items: dumper.represent_sequence("tag:yaml.org,2002:seq", items, True)
)


HEADER = """\
# The data contract, inferred from {source} ({rows} rows) by `make contract`: check each entry.
#
# Rules: True/False or 0/1 columns are boolean; whole numbers with at most 6 distinct values
# (and at most 5 % of the rows) are categorical codes; other numbers are numeric, with the
# data's range widened by 10 % of its span on each side (floored at 0 when no value is
# negative); words with at most 20 distinct values (50 in a table with 20 rows per value) are
# categorical. Dates, free text, columns with one value and columns that differ on every row
# (ids) are ignored. A feature with gaps may be missing (the model imputes it). The task:
# binary for two target values, regression for numbers that are not whole or take more than
# 10 values, multiclass for 3 to 20 values else.
#
# Write what each column means in `description`, meanings of categories (`value: meaning`),
# units, and a range that is plausible rather than observed. Roles: feature (a model input),
# target, id (names a row), ignored. `make data-docs` shows the result in docs/data.md.
"""


def read_table(path: Path) -> pd.DataFrame:
    """The table as written: Parquet typed, CSV as text (the values are judged here)."""
    label = str(path)
    if not path.is_file():
        raise StageError(f"{label}: no such file")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise StageError(f"{label}: not a table (a .csv or .parquet file is needed)")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            with path.open("rb") as stream:
                if b"\0" in stream.read(4096):
                    raise ValueError("binary content")
            frame = pd.read_csv(path, dtype=str, engine=_csv_engine())
    except pd.errors.EmptyDataError:
        raise StageError(f"{label}: empty, not even a header line") from None
    except (ValueError, UnicodeError, OSError) as error:
        kind = "Parquet" if path.suffix.lower() == ".parquet" else "CSV"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StageError(f"{label}: not a {kind} table ({reason})") from None
    names = [str(name) for name in frame.columns]
    if all(_number(name) for name in names):
        raise StageError(f"{label}: the first line holds values, not column names")
    if frame.empty:
        raise StageError(f"{label}: a header but no rows")
    frame.columns = names
    return frame


def _csv_engine() -> Literal["c", "pyarrow"]:
    """pyarrow's CSV reader when installed (several times faster), else pandas' own."""
    try:
        import pyarrow  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return "c"
    return "pyarrow"


def _number(text: str) -> bool:
    """Whether ``text`` is written as a number (a column name, a target value)."""
    return NUMBER.fullmatch(text.strip()) is not None


def infer(
    frame: pd.DataFrame,
    target: str,
    *,
    task: str | None = None,
    id_column: str | None = None,
    positive: str | None = None,
) -> Inference:
    """The contract of ``frame`` predicting ``target`` for ``task`` (inferred when None),
    with the reasons to tell."""
    for option, name in (("--target", target), ("--id", id_column)):
        if name is not None and name not in frame.columns:
            raise StageError(f"{option}: no column '{name}' in the table ({_names(frame)})")
    if id_column == target:
        raise StageError(f"--id: '{target}' is the target")
    notes: list[str] = []
    columns: dict[str, dict[str, Any]] = {}
    facts: dict[str, Facts] = {}
    if id_column is None:
        id_column = _free("id", frame.columns)
        columns[id_column] = {
            "role": "id",
            "kind": "numeric",
            "description": "Not in the raw table: prepare numbers the rows from 1.",
        }
    task, target_entry, rule, target_facts = _target(frame[target], target, task, positive, notes)
    for name in frame.columns:
        if name == target:
            columns[name], facts[name] = target_entry, target_facts
        elif name == id_column:
            columns[name], facts[name] = _id(frame[name], name)
        else:
            columns[name], facts[name] = _column(frame[name], name, notes)
    if not any(entry["role"] == "feature" for entry in columns.values()):
        left_out = [name for name, entry in columns.items() if entry["role"] == "ignored"]
        raise StageError(
            f"no column can be a feature: {', '.join(map(repr, left_out)) or 'none'} left "
            "out (one value, an id, dates or free text)"
        )
    rule["name"] = _free("target", frame.columns)
    data = {"task": task, "target": rule, "columns": columns}
    return Inference(data=data, facts=facts, notes=notes)


def _names(frame: pd.DataFrame, shown: int = 12) -> str:
    names = [f"'{name}'" for name in frame.columns]
    more = f", and {len(names) - shown} more" if len(names) > shown else ""
    return "columns: " + ", ".join(names[:shown]) + more


def _free(name: str, taken: Collection[str]) -> str:
    """``name``, or ``name_1``, ``name_2``... when the table already has a column so named."""
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def _target(
    values: pd.Series, name: str, task: str | None, positive: str | None, notes: list[str]
) -> tuple[str, dict[str, Any], dict[str, Any], Facts]:
    """The task, the target's column entry, its rule and its facts."""
    counts = values.dropna().astype(str).value_counts()
    if counts.empty:
        raise StageError(f"--target: '{name}' has no value on any row")
    if len(counts) == 1:
        raise StageError(
            f"--target: '{name}' has one value ('{counts.index[0]}'): nothing to predict"
        )
    numbers = _numbers(values)
    task, why = _task(task, positive, name, counts, numbers)
    notes.append(f"task: {task} ({why})")
    rule: dict[str, Any] = {"column": name, "name": "target"}
    missing = int(values.isna().sum())
    dropped = f"; {missing} rows without a value (prepare drops them)." if missing else "."
    if task == "regression":
        assert numbers is not None
        entry, facts = _regression_target(numbers, len(values), dropped)
        return task, entry, rule, facts
    if task == "multiclass":
        entry = _multiclass_target(counts, name, dropped)
    else:
        entry, binary = _binary_target(values, name, positive, notes)
        rule |= binary
    return task, entry, rule, Facts("categorical", values=tuple(entry["categories"]))


def _multiclass_target(counts: pd.Series, name: str, dropped: str) -> dict[str, Any]:
    """A multiclass target's column: its classes in order, each on two rows at least."""
    classes = sorted(counts.index, key=_order)
    rare = [value for value in classes if counts[value] < 2]
    if rare:
        raise StageError(
            f"--target: '{name}' = '{rare[0]}' on one row: each class needs at least two "
            "(one to train on, one to test)"
        )
    return _target_entry(classes, counts, dropped)


def _regression_target(numbers: pd.Series, rows: int, dropped: str) -> tuple[dict[str, Any], Facts]:
    """A regressor's target column: numeric, its range widened as a feature's."""
    entry, facts = _numeric(numbers, 0, rows, codes=False)
    seen = f"{_plain(facts.low or 0)} to {_plain(facts.high or 0)}"
    described = {"description": f"Inferred: {seen}{dropped}"}
    return {"role": "target", "kind": "numeric", "range": entry["range"]} | described, facts


def _task(
    task: str | None,
    positive: str | None,
    name: str,
    counts: pd.Series,
    numbers: pd.Series | None,
) -> tuple[str, str]:
    """The task (``task`` when given, if the target can have it) and why."""
    shown = _classes(sorted(counts.index, key=_order)[:MAX_CLASSES], counts)
    if len(counts) > MAX_CLASSES:
        shown += f", and {len(counts) - MAX_CLASSES} more values"
    if task == "regression" and numbers is None:
        raise StageError(f"--task regression: '{name}' holds words, not numbers")
    if task == "multiclass" and len(counts) < 3:
        raise StageError(f"--task multiclass: '{name}' has two values ({shown}): task binary")
    if task == "multiclass" and len(counts) > MAX_WORDS:
        raise StageError(
            f"--task multiclass: '{name}' has {len(counts)} values: at most {MAX_WORDS} classes"
        )
    if task is not None:
        return task, f"given by --task; '{name}' has {shown}"
    if positive is not None or len(counts) == 2:
        return "binary", f"'{name}' has {shown}"
    if numbers is not None and (not _whole(numbers) or len(counts) > MAX_CLASSES):
        low, high = _plain(float(numbers.min())), _plain(float(numbers.max()))
        return "regression", (
            f"'{name}' holds {len(counts)} distinct numbers, {low} to {high}; "
            "--task multiclass changes it"
        )
    if len(counts) <= MAX_WORDS:
        other = "; --task regression changes it" if numbers is not None else ""
        return "multiclass", f"'{name}' has {shown}{other}"
    raise StageError(
        f"--target: '{name}' has {len(counts)} distinct words: too many classes (at most "
        f"{MAX_WORDS}); --positive VALUE makes a binary task of one of them"
    )


def _target_entry(classes: list[str], counts: pd.Series, dropped: str) -> dict[str, Any]:
    """A classifier's target column: its classes as categories."""
    return {
        "role": "target",
        "kind": "categorical",
        "categories": [_code(value) for value in classes],
        "description": f"Inferred: {_classes(classes, counts)}{dropped}",
    }


def _binary_target(
    values: pd.Series, name: str, positive: str | None, notes: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A binary target's column entry and its rule (raw values are compared as written)."""
    counts = _class_counts(values, name, positive)
    classes = sorted(counts.index, key=_order)
    if positive is None:
        positive, why = _positive(classes, counts)
    else:
        why = "given by --positive"
    notes.append(f"positive class: {name} = {positive} ({why})")
    others = [value for value in classes if value != positive]
    missing = int(values.isna().sum())
    dropped = f"; {missing} rows without a value (prepare drops them)." if missing else "."
    entry = _target_entry(classes, counts, dropped)
    rule = {
        "positive": _code(positive),
        "positive_label": f"{name} = {positive}",
        "negative_label": (
            f"{name} = {others[0]}" if len(others) == 1 else f"{name} other than {positive}"
        ),
    }
    return entry, rule


def _class_counts(values: pd.Series, name: str, positive: str | None) -> pd.Series:
    """Rows per target value (as written); one line and no contract when they cannot train."""
    counts = values.dropna().astype(str).value_counts()
    if positive is None and len(counts) > 2:
        raise StageError(
            f"--task binary: '{name}' has {len(counts)} values; --positive VALUE makes one of "
            "them class 1"
        )
    if positive is not None and positive not in counts.index:
        shown = ", ".join(sorted(counts.index, key=_order))
        raise StageError(f"--positive: '{positive}' is not a value of '{name}' ({shown})")
    # With --positive among more values, the others together are class 0.
    classes = (
        counts
        if positive is None
        else pd.Series(
            {positive: counts[positive], f"other than {positive}": counts.sum() - counts[positive]}
        )
    )
    rare = classes[classes < 2]
    if not rare.empty:
        raise StageError(
            f"--target: '{name}' = '{rare.index[0]}' on one row: each class needs at least two "
            "(one to train on, one to test)"
        )
    return counts


def _order(value: str) -> tuple[int, float, str]:
    """Numbers in numeric order before words in alphabetical order."""
    return (0, float(value), "") if _number(value) else (1, 0.0, value)


def _classes(classes: list[str], counts: pd.Series) -> str:
    return ", ".join(f"{value} on {counts[value]} rows" for value in classes)


def _positive(classes: list[str], counts: pd.Series) -> tuple[str, str]:
    for word in TRUE_WORDS:
        for value in classes:
            if value.lower() == word:
                return value, f"'{value}' reads as the positive answer; --positive changes it"
    rarest = min(classes, key=lambda value: (counts[value], _order(value)))
    return rarest, "the rarer class; --positive changes it"


def _code(value: str) -> int | str:
    """A value as the contract writes it: a whole number as an int, anything else as text."""
    digits = value.removeprefix("-")
    whole = digits.isascii() and digits.isdigit() and str(int(value)) == value
    return int(value) if whole else value


def _id(values: pd.Series, name: str) -> tuple[dict[str, Any], Facts]:
    if values.isna().any():
        raise StageError(f"--id: '{name}' is missing on {int(values.isna().sum())} rows")
    repeats = int(values.duplicated().sum())
    if repeats:
        raise StageError(f"--id: '{name}' repeats a value on {repeats} rows: an id names one row")
    numbers = _numbers(values)
    kind = "numeric" if numbers is not None and _whole(numbers) else "text"
    return {"role": "id", "kind": kind, "description": "Names a row."}, Facts(kind)


def _numbers(values: pd.Series) -> pd.Series | None:
    """The non-missing values as float64 when every one of them is a number, else None."""
    present = values.dropna()
    if pd.api.types.is_bool_dtype(present):
        return None
    if pd.api.types.is_numeric_dtype(present):
        return present.astype("float64")
    text = present.astype(str).str.strip()
    parsed = _finite_numbers(text)
    if parsed is not None:
        return parsed
    if pd.to_numeric(pd.Series(text.unique()), errors="coerce").isna().any():
        return None  # words: judged on the distinct values, each parsed once
    numbers = pd.to_numeric(text, errors="coerce")
    return None if numbers.isna().any() else numbers.astype("float64")


def _finite_numbers(text: pd.Series) -> pd.Series | None:
    """``text`` parsed by pyarrow when every value is a finite number, else None (then pandas
    decides, value by value: twenty times slower on a million rows, the same answer)."""
    try:
        import pyarrow as pa  # pylint: disable=import-outside-toplevel
        import pyarrow.compute as pc  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    try:
        parsed = pc.cast(pa.array(text, type=pa.string()), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    numbers = parsed.to_numpy(zero_copy_only=False)
    if not np.isfinite(numbers).all():
        return None  # inf, nan: pandas' spellings
    if 0 in (numbers.min(), numbers.max()) and np.signbit(numbers[numbers == 0]).any():
        return None  # an extreme of -0, which pandas reads as 0 in a column of whole numbers
    return pd.Series(numbers, index=text.index, dtype="float64")


def _whole(numbers: pd.Series) -> bool:
    return bool((numbers == numbers.round()).all())


def _column(values: pd.Series, name: str, notes: list[str]) -> tuple[dict[str, Any], Facts]:
    """A column other than the target and the id: its entry, and its facts."""
    numbers = _numbers(values)
    left_out = _left_out(values, numbers)
    if left_out is not None:
        kind, why, remedy = left_out
        notes.append(f"column '{name}' ignored: {why}; to use it, {remedy}")
        return {"role": "ignored", "kind": kind, "description": f"Ignored: {why}."}, Facts(kind)
    gaps = int(values.isna().sum())
    present = values.dropna()
    booleans = _booleans(present, numbers)
    if booleans is not None:
        facts = Facts("boolean", values=(0, 1), low=0, high=1, gaps=gaps)
        return _feature("boolean", gaps, _counted(booleans)), facts
    if numbers is None:
        words = present.astype(str)
        categories = sorted(words.unique())
        entry = _feature("categorical", gaps, _counted(words), categories=categories)
        return entry, Facts("categorical", values=tuple(categories), gaps=gaps)
    return _numeric(numbers, gaps, len(values))


def _numeric(
    numbers: pd.Series, gaps: int, rows: int, *, codes: bool = True
) -> tuple[dict[str, Any], Facts]:
    """Numbers: integer codes when whole and few (and ``codes``), else numeric with a
    widened range."""
    whole = _whole(numbers)
    if codes and whole and numbers.nunique() <= min(MAX_CODES, MAX_CODE_SHARE * rows):
        values = sorted(int(value) for value in numbers.unique())
        entry = _feature("categorical", gaps, _counted(numbers.astype(int)), categories=values)
        return entry, Facts("categorical", tuple(values), low=values[0], high=values[-1], gaps=gaps)
    low, high = float(numbers.min()), float(numbers.max())
    seen = f"{_plain(low)} to {_plain(high)}"
    entry = _feature("numeric", gaps, seen, range=list(widened(low, high, whole=whole)))
    return entry, Facts("numeric", low=low, high=high, gaps=gaps)


def _left_out(values: pd.Series, numbers: pd.Series | None) -> tuple[str, str, str] | None:
    """Why no model should read the column: its kind, the reason and the remedy; else None."""
    present = values.dropna()
    rows, distinct = len(values), present.nunique()
    seen = f"{distinct} distinct values in {rows} rows"
    if distinct <= 1:
        shown = f"one value ('{present.iloc[0]}')" if distinct else "no value"
        kind = "text" if numbers is None else "numeric"
        return kind, f"{shown} on every row: nothing to learn", "give it a feature's role later"
    whole = numbers is not None and _whole(numbers)
    if distinct == rows and (whole or numbers is None):
        why = f"a different value on every row, like an id ({seen})"
        return "numeric" if whole else "text", why, f"--id '{values.name}' makes it the id"
    if numbers is not None or _booleans(present, None) is not None:
        return None
    words = present.astype(str)
    if pd.to_datetime(pd.Series(words.unique()), format="ISO8601", errors="coerce").notna().all():
        return "datetime", f"dates ({seen})", "derive a number from it (e.g. days since)"
    few = distinct <= MAX_WORDS and distinct * 2 <= rows
    common = distinct <= MAX_LEVELS and distinct * MIN_LEVEL_ROWS <= rows
    if not (few or common):
        return "text", f"free text ({seen})", "derive a category or a number from it"
    return None


def _booleans(present: pd.Series, numbers: pd.Series | None) -> pd.Series | None:
    """The values as 0/1 when they are True/False or exactly 0 and 1, else None."""
    if numbers is not None:
        return numbers.astype(int) if set(numbers.unique()) == {0.0, 1.0} else None
    words = present.astype(str).str.strip().str.lower()
    if set(words.unique()) <= {"true", "false"}:
        return (words == "true").astype(int)
    return None


def _counted(values: pd.Series, shown: int = 6) -> str:
    counts = sorted(values.value_counts().items())
    more = f" and {len(counts) - shown} more values" if len(counts) > shown else ""
    return ", ".join(f"{value} on {count} rows" for value, count in counts[:shown]) + more


def _plain(number: float) -> str:
    return f"{number:g}"


def _feature(kind: str, gaps: int, seen: str, **allowed: list[Any]) -> dict[str, Any]:
    """A feature's entry: role, kind, its range or categories, missing, description."""
    entry: dict[str, Any] = {"role": "feature", "kind": kind, **allowed}
    if gaps:
        entry["missing"] = True
    entry["description"] = f"Inferred: {seen}" + (f"; missing on {gaps} rows." if gaps else ".")
    return entry


def widened(low: float, high: float, *, whole: bool) -> tuple[int | float, int | float]:
    """``[low, high]`` widened by :data:`MARGIN` of the span each side, rounded outwards."""
    span = high - low
    start, end = low - MARGIN * span, high + MARGIN * span
    if low >= 0:
        start = max(start, 0.0)
    step = 10.0 ** (math.floor(math.log10(span)) - 1) if span > 0 else 1.0
    if whole or step >= 1:
        step = max(step, 1.0)
        return int(math.floor(start / step) * step), int(math.ceil(end / step) * step)
    digits = -math.floor(math.log10(step))
    return (
        round(math.floor(start / step) * step, digits),
        round(math.ceil(end / step) * step, digits),
    )


def compare(old: Contract, inference: Inference) -> tuple[list[str], list[str]]:
    """What breaks ``old`` in the table, and what is only new: two lists of lines."""
    breaking: list[str] = []
    reported: list[str] = []
    task = inference.data["task"]
    if task != old.task:
        breaking.append(f"task: {task} for the table, {old.task} in the contract")
    for name, column in old.columns.items():
        facts = inference.facts.get(name)
        if facts is None:
            if column.role != "id":  # an id absent from the table: prepare numbers the rows
                breaking.append(f"column '{name}' is not in the table (removed or renamed)")
        elif name == old.target.column:
            classes = sorted(str(code) for code in column.categories or ())
            found = sorted(str(value) for value in facts.values)
            if classes and classes != found:
                breaking.append(
                    f"target '{name}': classes {', '.join(found)} in the table, "
                    f"{', '.join(classes)} in the contract"
                )
        elif column.role == "feature":
            if _fits(column, facts):
                reported += _changes(name, column, facts)
            else:
                breaking.append(f"column '{name}': {_kind(facts)} in the table, {_kind(column)}")
    reported += [
        f"column '{name}' is new (not in the contract)"
        for name in inference.facts
        if name not in old.columns
    ]
    return breaking, reported


def _kind(column: Column | Facts) -> str:
    words = any(isinstance(value, str) for value in _values(column))
    kind = f"{column.kind} (words)" if column.kind == "categorical" and words else column.kind
    return kind if isinstance(column, Facts) else f"{kind} in the contract"


def _values(column: Column | Facts) -> tuple[Any, ...]:
    return tuple(column.categories or ()) if isinstance(column, Column) else column.values


def _fits(column: Column, facts: Facts) -> bool:
    """Whether values of ``facts``'s kind can be read as ``column``'s kind."""
    numbers = facts.low is not None  # numeric, boolean and integer codes
    if column.kind == "numeric":
        return numbers
    if column.kind == "boolean":
        return facts.kind == "boolean"
    words = any(isinstance(value, str) for value in _values(column))
    return facts.kind in ("categorical", "boolean") and (
        words == any(isinstance(value, str) for value in facts.values)
    )


def _changes(name: str, column: Column, facts: Facts) -> list[str]:
    lines = []
    if column.range is not None and facts.low is not None and facts.high is not None:
        low, high = column.range
        if facts.low < low or facts.high > high:
            lines.append(
                f"column '{name}': values {_plain(facts.low)} to {_plain(facts.high)} go beyond "
                f"the range [{low}, {high}]: widen it"
            )
    if column.kind == "categorical":
        known = {str(code) for code in column.categories or ()}
        new = [str(value) for value in facts.values if str(value) not in known]
        if new:
            lines.append(f"column '{name}': new categories {', '.join(new)}")
    if facts.gaps and not column.missing:
        lines.append(
            f"column '{name}': missing on {facts.gaps} rows (missing: true keeps those rows)"
        )
    return lines


def run(args: argparse.Namespace) -> None:
    """Infer, then write the contract or compare it with the one in place."""
    frame = read_table(args.table)
    inference = infer(frame, args.target, task=args.task, id_column=args.id, positive=args.positive)
    for line in inference.notes:
        LOG.info("%s", line)
    output: Path = args.output or Settings().contract
    shown = _shown(output)
    text = inference.text(args.table.name, len(frame))
    parse(text, shown)  # what is written must load
    if output.exists() and not args.force:
        breaking, reported = compare(load(output, shown), inference)
        for line in reported:
            LOG.info("%s: %s", shown, line)
        if breaking:
            raise StageError(
                "\n".join(
                    [f"{shown}: the table breaks the contract (--force replaces it):"]
                    + [f"  {line}" for line in breaking]
                )
            )
        LOG.info("%s exists and the table fits it: kept (--force replaces it)", shown)
        return
    write_text(output, text)
    LOG.info("wrote %s: check each entry, then `make data-docs`", shown)
    LOG.info("%s", _params_hint(parse(text, shown), args.table))


def _params_hint(contract: Contract, table: Path) -> str:
    """What params.yaml must say for this contract's task and table (imported here: the task
    modules read the project's contract, which is now the one just written)."""
    from .tasks import task_for  # pylint: disable=import-outside-toplevel

    task = task_for(contract)
    binary = task.name == "binary"
    threshold = "evaluate.threshold: 0.5 or another" if binary else "no evaluate.threshold"
    return (
        f"params.yaml for a {task.name} task: prepare.raw_data: data/raw/{table.name}; "
        f"train.model: one of {', '.join(task.models)}; evaluate.metric: one of "
        f"{', '.join(task.gate_metrics)}; {threshold}"
    )


def _shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when below it."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument("table", type=Path, help="the table, CSV or Parquet")
    parser.add_argument("--target", required=True, help="the column the model predicts")
    parser.add_argument("--task", choices=TASKS, help="default: inferred from the target")
    parser.add_argument("--id", help="the column that names a row (default: rows numbered)")
    parser.add_argument("--positive", help="the target value that is class 1")
    parser.add_argument("--output", type=Path, help="default: data/contract.yaml")
    parser.add_argument("--force", action="store_true", help="replace an existing contract")
    args = parse_args(parser, argv)
    if args.positive is not None and args.task not in (None, "binary"):
        print(
            f"infer_contract: --positive: only a binary task has one, not {args.task}",
            file=sys.stderr,
        )
        return 1
    return run_stage("infer_contract", lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
