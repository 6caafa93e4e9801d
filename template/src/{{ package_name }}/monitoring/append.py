"""Append the labelled production rows to the training data (the raw file).

Usage, from the project root (``make feedback-append`` also runs ``dvc add`` after it)::

    python -m <package>.monitoring.append

Every joined label of ``data/feedback/labels.csv`` not appended before becomes one row of the
raw file, in its columns and their order: the features as logged (strings as strings, a
missing value as an empty field, a boolean as the raw file writes it), the raw target in its
raw form (:func:`raw_targets`: binary by :func:`raw_outcomes`, a multiclass position as its
class, a regression value as is), the id when the raw file has one (``<request_id>:<index>``,
or the next number for a numeric id), other columns empty; so that the next ``dvc repro``
prepares, validates and trains on it. ``data/feedback/appended.csv`` records the
appended predictions (``request_id``, ``index``): running it again appends nothing twice.
Rows the validate stage would refuse are skipped and counted: a value outside core/schema.py,
or the same features as a row already in the raw file (a duplicate would leak between the
training and test sets).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..cli import stage_main
from ..core.contract import Code, Contract
from ..core.schema import CONTRACT, category_codes
from ..errors import StageError
from ..files import atomic_output
from ..params import Params
from ..pipeline.prepare import read_raw
from ..settings import Settings
from .columns import SCHEMA, Features
from .labels import read_store
from .predlog import KEY
from .quality import out_of_schema

LOG = logging.getLogger(__name__)
RECORD_COLUMNS = (*KEY, "appended_at")


@dataclass(frozen=True)
class Appended:
    """How many labelled rows were appended, and why others were not."""

    appended: int
    already_appended: int
    out_of_schema: int
    duplicates: int


def read_record(settings: Settings) -> pd.DataFrame:
    """The predictions appended so far (empty before the first append)."""
    if not settings.appended_record.is_file():
        return pd.DataFrame(columns=list(RECORD_COLUMNS))
    return pd.read_csv(settings.appended_record, dtype={"request_id": str})


def _keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[list(KEY)].astype({"index": int}))


def select(
    labels: pd.DataFrame, record: pd.DataFrame, raw: pd.DataFrame, features: Features = SCHEMA
) -> tuple[pd.DataFrame, Appended]:
    """The labelled rows to append, and the counts of :class:`Appended`."""
    fresh = labels[~_keys(labels).isin(_keys(record))] if len(labels) else labels
    outside = out_of_schema(fresh, features) if len(fresh) else pd.Series(dtype=bool)
    candidates = fresh[~outside]
    names = list(features.names)
    known = pd.concat([features.typed(raw[names]), features.typed(candidates[names])])
    repeated = known.duplicated(keep="first").to_numpy()[len(raw) :]
    chosen = candidates[~repeated]
    counts = Appended(
        len(chosen), len(labels) - len(fresh), int(outside.sum()), int(repeated.sum())
    )
    return chosen, counts


def raw_outcomes(contract: Contract) -> dict[int, Code]:
    """The raw target's value for an outcome 0 and 1: the positive value and, for 0, the
    target's other category (when it has exactly two); for a threshold ``t``, 0 and 1 when
    0 <= t < 1, else the target's one category on each side. Raises a :class:`StageError`
    when the contract does not say."""
    target = contract.target
    kind = contract.columns[target.column].kind
    codes = category_codes(contract, target.column) if kind != "numeric" else ()
    if target.positive is not None:
        others = [code for code in codes if code != target.positive]
        if len(others) == 1:
            return {0: others[0], 1: target.positive}
        rule = f"{target.column} is not {target.positive!r}"
    else:
        threshold = target.positive_when_above
        assert threshold is not None  # the contract has one rule or the other
        if 0 <= threshold < 1:
            return {0: 0, 1: 1}
        below = [code for code in codes if isinstance(code, int) and code <= threshold]
        above = [code for code in codes if isinstance(code, int) and code > threshold]
        if len(below) == 1 and len(above) == 1:
            return {0: below[0], 1: above[0]}
        rule = f"{target.column} = 0 or 1 against positive_when_above {threshold}"
    raise StageError(
        f"cannot write an outcome back as a raw {target.column}: the contract does not say "
        f"which raw value an outcome {'0' if target.positive is not None else '0 or 1'} is "
        f"({rule}); nothing appended"
    )


def _like(values: pd.Series, raw: pd.Series) -> pd.Series:
    """Feature values written as the raw column writes them: ``True``/``False`` for a column
    of booleans, integers for a column of integers, else as logged."""
    present, written = values.dropna(), set(raw.dropna().astype(str))
    if pd.api.types.is_bool_dtype(raw) or (written and written <= {"True", "False"}):
        return values.map(lambda value: value if pd.isna(value) else bool(value))
    if pd.api.types.is_integer_dtype(raw) and present.map(float.is_integer).all():
        return values.astype("Int64")
    return values


def raw_targets(actuals: pd.Series, contract: Contract) -> list[Code | float]:
    """The raw target of each stored outcome: binary 0/1 by :func:`raw_outcomes`, a
    multiclass position as the class the contract lists there, a regression value as is."""
    if contract.task == "regression":
        return [float(actual) for actual in actuals]
    outcomes: dict[int, Code] = (
        dict(enumerate(contract.classes))
        if contract.task == "multiclass"
        else raw_outcomes(contract)
    )
    return [outcomes[int(actual)] for actual in actuals]


def raw_rows(chosen: pd.DataFrame, raw: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The labelled rows ``chosen`` as rows of the raw table ``raw`` (its columns, in order)."""
    features = Features.of(contract)
    rows = pd.DataFrame(index=range(len(chosen)), columns=list(raw.columns), dtype=object)
    for name in features.names:
        values = chosen[name].reset_index(drop=True)
        rows[name] = values if name in features.strings else _like(values, raw[name])
    rows[contract.target.column] = raw_targets(chosen["actual"], contract)
    identifier = contract.named("id")[0]
    if identifier in rows.columns:
        if contract.columns[identifier].kind == "numeric":
            first = int(pd.to_numeric(raw[identifier]).max()) + 1 if len(raw) else 1
            rows[identifier] = range(first, first + len(chosen))
        else:
            rows[identifier] = [
                f"{request_id}:{index}"
                for request_id, index in zip(chosen["request_id"], chosen["index"], strict=True)
            ]
    return rows


def append_rows(path: Path, raw: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Add ``rows`` to the raw table ``raw`` read from ``path``, atomically: a CSV file keeps
    its bytes and gains lines, a Parquet file is written again with them."""
    with atomic_output(path) as partial:
        if path.suffix.lower() == ".parquet":
            pd.concat([raw, rows], ignore_index=True).to_parquet(partial, index=False)
            return
        text = path.read_text(encoding="utf-8")
        partial.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        rows.to_csv(partial, mode="a", header=False, index=False, encoding="utf-8")


def write(settings: Settings, chosen: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Append ``chosen`` to the raw file, then add them to the record, each atomically."""
    append_rows(settings.raw_csv, raw, raw_rows(chosen, raw, CONTRACT))
    record = read_record(settings)
    added = chosen[list(KEY)].assign(appended_at=datetime.now(UTC).isoformat())
    with atomic_output(settings.appended_record) as partial:
        updated = pd.concat([record, added], ignore_index=True) if len(record) else added
        updated.to_csv(partial, index=False)


def append(settings: Settings, _params: Params) -> Appended:
    """Append the new labelled rows (the raw file first: a crash in between leaves rows that
    the next run skips as duplicates, never a row twice)."""
    raw = read_raw(settings)
    chosen, result = select(read_store(settings.feedback_labels), read_record(settings), raw)
    if len(chosen):
        write(settings, chosen, raw)
    LOG.info(
        "%d labelled row(s) appended to %s; skipped: %d appended before, %d outside the schema, "
        "%d with the features of a row already there",
        result.appended,
        settings.relative(settings.raw_csv),
        result.already_appended,
        result.out_of_schema,
        result.duplicates,
    )
    if result.appended:
        LOG.info("next: `dvc repro` prepares, validates and trains on them")
    return result


def main(argv: list[str] | None = None) -> int:
    """The command line (no options but ``--verbose``); returns the exit status."""
    return stage_main("feedback-append", __doc__, argv, append)


if __name__ == "__main__":
    raise SystemExit(main())
