"""Stage 1, prepare: raw CSV to a stratified train/test split with the actuals held back.

Reads ``data/raw/heart.csv``, derives ``target`` by data/contract.yaml's rule (1 when
``num`` > 0: heart disease present), drops incomplete rows (and says how many), numbers the
remaining patients with ``id`` (their data row in the raw file) and splits them, stratified
on ``target``, with ``prepare.seed`` and ``prepare.test_size`` from params.yaml. It writes
``train.csv`` (features and target), ``test_features.csv`` (features only) and
``test_labels.csv`` (``id`` and ``target``, the held-back actuals that verification joins on
``id``).

Values are not judged here: a corrupted cell (``abc``, or an age of 300) passes through for the
validate stage to report with the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from ..cli import stage_main
from ..config import Artifacts
from ..core.schema import (
    FEATURES,
    ID,
    POSITIVE_ABOVE,
    RAW_COLUMNS,
    RAW_TARGET,
    TARGET,
)
from ..errors import StageError
from ..files import atomic_output
from ..params import Params

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """The three prepared tables and how many raw rows were dropped as incomplete."""

    train: pd.DataFrame
    test_features: pd.DataFrame
    test_labels: pd.DataFrame
    dropped: int


def read_raw(artifacts: Artifacts) -> pd.DataFrame:
    """The raw table as written (no type coercion), with every expected column present."""
    path = artifacts.raw_csv
    if not path.is_file():
        raise StageError(
            f"raw data not found: {artifacts.relative(path)} "
            "(restore it with `dvc pull`, or `dvc checkout` in a fresh clone)"
        )
    frame = pd.read_csv(path)
    missing = [name for name in RAW_COLUMNS if name not in frame.columns]
    if missing:
        raise StageError(f"{artifacts.relative(path)} lacks columns: {', '.join(missing)}")
    return frame


def split(raw: pd.DataFrame, *, test_size: float, seed: int) -> Split:
    """Number, complete, label and split the raw rows (deterministic for a given seed)."""
    frame = raw.reset_index(drop=True)
    frame.insert(0, ID, range(1, len(frame) + 1))
    num = pd.to_numeric(frame[RAW_TARGET], errors="coerce")
    complete = frame[list(FEATURES)].notna().all(axis=1) & num.notna()
    frame = frame[complete].assign(**{TARGET: (num[complete] > POSITIVE_ABOVE).astype(int)})
    if frame[TARGET].nunique() < 2 or frame[TARGET].value_counts().min() < 2:
        raise StageError("need at least two patients with and two without heart disease")
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[TARGET]
    )
    train = train.sort_values(ID)
    test = test.sort_values(ID)
    return Split(
        train=train[[ID, *FEATURES, TARGET]],
        test_features=test[[ID, *FEATURES]],
        test_labels=test[[ID, TARGET]],
        dropped=int((~complete).sum()),
    )


def prepare(artifacts: Artifacts, params: Params) -> Split:
    """Run the stage: read, split and write the three files."""
    raw = read_raw(artifacts)
    result = split(raw, test_size=params.prepare.test_size, seed=params.prepare.seed)
    LOG.info(
        "%d rows read from %s; %d incomplete rows dropped; %d kept",
        len(raw),
        artifacts.relative(artifacts.raw_csv),
        result.dropped,
        len(raw) - result.dropped,
    )
    for table, path in (
        (result.train, artifacts.train_csv),
        (result.test_features, artifacts.test_features_csv),
        (result.test_labels, artifacts.test_labels_csv),
    ):
        with atomic_output(path) as partial:
            table.to_csv(partial, index=False)
    LOG.info(
        "train: %d rows, test: %d rows (held-back labels in %s)",
        len(result.train),
        len(result.test_labels),
        artifacts.relative(artifacts.test_labels_csv),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    """The stage's command line (no options but ``--verbose``); returns the exit status."""
    return stage_main("prepare", __doc__, argv, prepare)


if __name__ == "__main__":
    raise SystemExit(main())
