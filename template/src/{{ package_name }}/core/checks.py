"""The pandera schemas that every prepared file must satisfy, and readable reports of failures.

:func:`find_problems` reports every failure at once, grouped by column and check, with row
numbers that count data rows from 1 (the header is line 1, so row N is line N + 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .schema import (
    CATEGORY_CODES,
    CLASSES,
    CONTRACT,
    FEATURES,
    ID,
    MAY_BE_MISSING,
    NUMERIC_RANGES,
    STRING_FEATURES,
    TARGET,
    TARGET_RANGE,
    TASK_NAME,
)

MAX_ROWS_SHOWN = 10
# The columns whose values are words: never parsed as numbers.
WORDS = frozenset((*STRING_FEATURES, *([ID] if CONTRACT.columns[ID].kind != "numeric" else [])))
# pandera's checks on the set of columns, and how to say that they failed.
COLUMN_SET_CHECKS = {
    "column_in_dataframe": "missing column '{}'",
    "column_in_schema": "unexpected column '{}'",
}


def features_schema(
    *, with_id: bool = True, with_target: bool = False, strict: bool = True
) -> pa.DataFrameSchema:
    """Schema of a file of rows: optional id, the features, optional target.

    A feature may be missing only where the contract allows it. ``strict`` (prepared files)
    also forbids other columns and two rows with the same features (a duplicate would leak
    between training folds or inflate the test set); files to score are checked with
    ``strict=False``.
    """
    columns: dict[str, pa.Column] = {}
    if with_id:
        columns[ID] = id_column()
    for name in FEATURES:
        nullable = name in MAY_BE_MISSING
        if name in NUMERIC_RANGES:
            check = pa.Check.in_range(*NUMERIC_RANGES[name])
        else:
            check = pa.Check.isin(list(CATEGORY_CODES[name]))
        kind = str if name in STRING_FEATURES else float
        columns[name] = pa.Column(kind, check, coerce=True, nullable=nullable)
    if with_target:
        columns[TARGET] = target_column()
    return pa.DataFrameSchema(
        columns,
        strict=strict,
        unique=list(FEATURES) if strict else None,
        report_duplicates="all",
    )


def id_column() -> pa.Column:
    """The id: unique, a non-negative integer unless the contract makes it text."""
    if CONTRACT.columns[ID].kind == "numeric":
        return pa.Column(int, pa.Check.ge(0), unique=True)
    return pa.Column(str, unique=True, coerce=True)


def target_column() -> pa.Column:
    """The prepared target: 0/1 (binary), a class's position (multiclass), a number in the
    contract's range if it gives one (regression)."""
    if TASK_NAME == "regression":
        checks = [pa.Check.in_range(*TARGET_RANGE)] if TARGET_RANGE is not None else []
        return pa.Column(float, checks, coerce=True)
    positions = list(range(len(CLASSES))) if TASK_NAME == "multiclass" else [0, 1]
    return pa.Column(int, pa.Check.isin(positions))


def labels_schema() -> pa.DataFrameSchema:
    """Schema of the held-back actuals: ``id`` and ``target``."""
    return pa.DataFrameSchema({ID: id_column(), TARGET: target_column()}, strict=True)


@dataclass(frozen=True)
class Problem:
    """One failed check: which column, which check, at which rows (1-based data rows)."""

    column: str | None
    check: str
    rows: tuple[int, ...] = ()

    def describe(self) -> str:
        """A short sentence, e.g. ``column 'age' fails in_range(0, 120) at rows 5, 17``."""
        where = ""
        if self.rows:
            shown = ", ".join(str(row) for row in self.rows[:MAX_ROWS_SHOWN])
            more = len(self.rows) - MAX_ROWS_SHOWN
            where = f" at rows {shown}" + (f" (and {more} more)" if more > 0 else "")
        if self.column is None:
            return f"{self.check}{where}"
        return f"column '{self.column}' fails {self.check}{where}"


def _rows(indexes: pd.Series) -> tuple[int, ...]:
    """1-based data row numbers from a positional index (values may repeat or be missing)."""
    return tuple(sorted({int(index) + 1 for index in indexes.dropna()}))


def _non_numeric(
    frame: pd.DataFrame, schema: pa.DataFrameSchema
) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse the schema's columns as numbers; unparseable cells become problems and blanks."""
    parsed = frame.copy()
    problems: list[Problem] = []
    for name in schema.columns:
        if name not in parsed.columns or name in WORDS:
            continue
        numbers = pd.to_numeric(parsed[name], errors="coerce")
        bad = parsed[name].notna() & numbers.isna()
        if bad.any():
            values = ", ".join(sorted({repr(str(v)) for v in parsed.loc[bad, name]})[:3])
            problems.append(Problem(name, f"is_number (found {values})", _rows(bad[bad].index)))
        parsed[name] = numbers
    return parsed, problems


def find_problems(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> list[Problem]:
    """Every check of ``schema`` that ``frame`` fails, grouped by column and check."""
    frame = frame.reset_index(drop=True)
    parsed, problems = _non_numeric(frame, schema)
    try:
        schema.validate(parsed, lazy=True)
    except SchemaErrors as errors:
        problems.extend(_group(errors.failure_cases, already_reported=problems))
    return problems


def _group(failures: pd.DataFrame, already_reported: list[Problem]) -> list[Problem]:
    """Turn pandera's failure cases (one row per failing cell) into one problem per check."""
    blanked = {(p.column, row) for p in already_reported for row in p.rows}
    problems: list[Problem] = []
    failures = failures.assign(column=failures["column"].astype(object))
    duplicates = failures[failures["check"] == "multiple_fields_uniqueness"]
    if not duplicates.empty:
        problems.append(Problem(None, "duplicate rows (same features)", _rows(duplicates["index"])))
    for (column, check), cases in failures.groupby(["column", "check"], dropna=False, sort=False):
        if check == "multiple_fields_uniqueness":
            continue
        if check in COLUMN_SET_CHECKS:
            template = COLUMN_SET_CHECKS[check]
            problems.extend(Problem(None, template.format(c)) for c in cases["failure_case"])
            continue
        rows = tuple(r for r in _rows(cases["index"]) if (column, r) not in blanked)
        if check == "not_nullable":
            if rows:
                problems.append(Problem(str(column), "not_nullable (missing values)", rows))
            continue
        # A check of the whole frame has no column (NaN or None).
        problems.append(Problem(column if isinstance(column, str) else None, str(check), rows))
    return problems
