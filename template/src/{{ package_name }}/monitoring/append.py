"""Append the labelled production rows to the training data (data/raw/heart.csv).

Usage, from the project root (``make feedback-append`` also runs ``dvc add`` after it)::

    python -m <package>.monitoring.append

Every joined label of ``data/feedback/labels.csv`` not appended before becomes one row of the
raw file, in its columns (the 13 features, ``num`` = the outcome 0 or 1), so that the next
``dvc repro`` prepares, validates and trains on it. ``data/feedback/appended.csv`` records the
appended predictions (``request_id``, ``index``): running it again appends nothing twice.
Rows the validate stage would refuse are skipped and counted: a value outside core/schema.py,
or the same features as a row already in the raw file (a duplicate would leak between the
training and test sets).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from ..cli import stage_main
from ..config import Artifacts
from ..core.schema import FEATURES, RAW_COLUMNS, RAW_TARGET
from ..files import atomic_output
from ..params import Params
from ..pipeline.prepare import read_raw
from .labels import read_store
from .locations import MonitoringFiles
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


def read_record(files: MonitoringFiles) -> pd.DataFrame:
    """The predictions appended so far (empty before the first append)."""
    if not files.appended.is_file():
        return pd.DataFrame(columns=list(RECORD_COLUMNS))
    return pd.read_csv(files.appended, dtype={"request_id": str})


def _keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[list(KEY)].astype({"index": int}))


def select(
    labels: pd.DataFrame, record: pd.DataFrame, raw: pd.DataFrame
) -> tuple[pd.DataFrame, Appended]:
    """The labelled rows to append, and the counts of :class:`Appended`."""
    fresh = labels[~_keys(labels).isin(_keys(record))] if len(labels) else labels
    outside = out_of_schema(fresh) if len(fresh) else pd.Series(dtype=bool)
    candidates = fresh[~outside]
    known = pd.concat([raw[list(FEATURES)].astype(float), candidates[list(FEATURES)]])
    repeated = known.duplicated(keep="first").to_numpy()[len(raw) :]
    chosen = candidates[~repeated]
    counts = Appended(
        len(chosen), len(labels) - len(fresh), int(outside.sum()), int(repeated.sum())
    )
    return chosen, counts


def write(artifacts: Artifacts, files: MonitoringFiles, chosen: pd.DataFrame) -> None:
    """Append ``chosen`` to the raw file, then add them to the record, each atomically."""
    rows = chosen[list(FEATURES)].assign(**{RAW_TARGET: chosen["actual"].astype(int)})
    text = artifacts.raw_csv.read_text(encoding="utf-8")
    with atomic_output(artifacts.raw_csv) as partial:
        partial.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        rows[list(RAW_COLUMNS)].to_csv(partial, mode="a", header=False, index=False)
    record = read_record(files)
    added = chosen[list(KEY)].assign(appended_at=datetime.now(UTC).isoformat())
    with atomic_output(files.appended) as partial:
        updated = pd.concat([record, added], ignore_index=True) if len(record) else added
        updated.to_csv(partial, index=False)


def append(artifacts: Artifacts, _params: Params) -> Appended:
    """Append the new labelled rows (the raw file first: a crash in between leaves rows that
    the next run skips as duplicates, never a row twice)."""
    files = MonitoringFiles.below(artifacts.root)
    chosen, result = select(read_store(files.labels), read_record(files), read_raw(artifacts))
    if len(chosen):
        write(artifacts, files, chosen)
    LOG.info(
        "%d labelled row(s) appended to %s; skipped: %d appended before, %d outside the schema, "
        "%d with the features of a row already there",
        result.appended,
        artifacts.relative(artifacts.raw_csv),
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
