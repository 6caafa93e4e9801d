"""Stage 1, prepare: the raw table to a stratified train/test split with the actuals held back.

Reads the raw table (params.yaml's ``prepare.raw_data``, CSV or Parquet), derives the target by
data/contract.yaml's task and rule (:mod:`..core.tasks`; in the starter project: 1 when ``num``
> 0, heart disease present), drops the rows missing the target or a feature that may not be
missing (and says how many), keeps the id column when the raw table has one or numbers the rows
with it (their data row in the raw file), writes boolean features as 0/1 and splits the rows,
stratified on the target for a classifier, with ``prepare.seed`` and ``prepare.test_size``. It
writes ``train.csv`` (features and target), ``test_features.csv`` (features only) and
``test_labels.csv`` (``id`` and ``target``, the held-back actuals that verification joins on
``id``).

Values are not judged here: a corrupted cell (``abc``, or an age of 300) passes through for the
validate stage to report with the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ..cli import stage_main
from ..core.frames import boolean_codes
from ..core.schema import (
    BOOLEAN_FEATURES,
    FEATURES,
    ID,
    MAY_BE_MISSING,
    RAW_COLUMNS,
    RAW_TARGET,
    STRING_FEATURES,
    TARGET,
    TASK_NAME,
)
from ..core.tasks import TASK
from ..errors import StageError
from ..files import atomic_output
from ..params import Params
from ..settings import Settings

LOG = logging.getLogger(__name__)
# Read as text whatever the values look like: string categories, the target, a string id.
STRING_DTYPES = dict.fromkeys(
    (*STRING_FEATURES, *([RAW_TARGET] if TASK_NAME != "regression" else [])), "string"
)


@dataclass(frozen=True)
class Split:
    """The three prepared tables and how many raw rows were dropped as incomplete."""

    train: pd.DataFrame
    test_features: pd.DataFrame
    test_labels: pd.DataFrame
    dropped: int


def read_table(path: Path) -> pd.DataFrame:
    """A raw table as written: Parquet, else CSV with string columns kept as strings."""
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=STRING_DTYPES, keep_default_na=True)


def read_raw(settings: Settings) -> pd.DataFrame:
    """The raw table as written (no type coercion), with every expected column present."""
    path = settings.raw_csv
    if not path.is_file():
        raise StageError(
            f"raw data not found: {settings.relative(path)} "
            "(restore it with `dvc pull`, or `dvc checkout` in a fresh clone)"
        )
    frame = read_table(path)
    missing = [name for name in RAW_COLUMNS if name not in frame.columns]
    if missing:
        raise StageError(f"{settings.relative(path)} lacks columns: {', '.join(missing)}")
    return frame


def split(raw: pd.DataFrame, *, test_size: float, seed: int) -> Split:
    """Number, complete, label and split the raw rows (deterministic for a given seed)."""
    frame = raw.reset_index(drop=True)
    if ID not in frame.columns:
        frame.insert(0, ID, range(1, len(frame) + 1))
    target = TASK.label(frame[RAW_TARGET])
    required = [name for name in FEATURES if name not in MAY_BE_MISSING]
    complete = frame[required].notna().all(axis=1) & target.notna()
    kind = float if TASK_NAME == "regression" else int
    frame = frame[complete].assign(**{TARGET: target[complete].astype(kind)})
    for name in BOOLEAN_FEATURES:
        frame[name] = boolean_codes(frame[name])
    TASK.check_rows(frame[TARGET])
    train, test = train_test_split(
        frame,
        test_size=test_size,
        random_state=seed,
        stratify=frame[TARGET] if TASK.stratified else None,
    )
    train = train.sort_values(ID)
    test = test.sort_values(ID)
    return Split(
        train=train[[ID, *FEATURES, TARGET]],
        test_features=test[[ID, *FEATURES]],
        test_labels=test[[ID, TARGET]],
        dropped=int((~complete).sum()),
    )


def prepare(settings: Settings, params: Params) -> Split:
    """Run the stage: read, split and write the three files."""
    raw = read_raw(settings)
    result = split(raw, test_size=params.prepare.test_size, seed=params.prepare.seed)
    LOG.info(
        "%d rows read from %s; %d incomplete rows dropped; %d kept",
        len(raw),
        settings.relative(settings.raw_csv),
        result.dropped,
        len(raw) - result.dropped,
    )
    for table, path in (
        (result.train, settings.train_csv),
        (result.test_features, settings.test_features_csv),
        (result.test_labels, settings.test_labels_csv),
    ):
        with atomic_output(path) as partial:
            table.to_csv(partial, index=False)
    LOG.info(
        "train: %d rows, test: %d rows (held-back labels in %s)",
        len(result.train),
        len(result.test_labels),
        settings.relative(settings.test_labels_csv),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    """The stage's command line (no options but ``--verbose``); returns the exit status."""
    return stage_main("prepare", __doc__, argv, prepare)


if __name__ == "__main__":
    raise SystemExit(main())
