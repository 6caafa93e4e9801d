"""Reading the prepared tables and handing features to a model, the same way in every layer.

A CSV file does not say which columns are words: read naively, a string category whose
values look like numbers becomes numbers, and a missing word becomes ``NaN`` in one reader
and ``<NA>`` in another. Every layer reads the prepared files with :func:`read_rows` and
gives a model its features with :func:`model_input`, so that training, evaluation, batch
scoring, the service's checks and monitoring see the same values: numbers as float64,
words as Python strings in object columns, and a missing value as ``NaN`` in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .schema import CONTRACT, FEATURES, ID, STRING_FEATURES

# The columns written as words: the string categories and an id that is not a number.
WORD_COLUMNS = (*STRING_FEATURES, *((ID,) if CONTRACT.columns[ID].kind != "numeric" else ()))


BOOLEAN_WORDS = {"true": 1, "false": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0}


def boolean_codes(values: pd.Series) -> pd.Series:
    """True/False (or 1/0, in any spelling) as 1/0; anything else is kept as it was."""
    spelled = values.astype(str).str.strip().str.lower()
    return spelled.map(BOOLEAN_WORDS).where(spelled.isin(list(BOOLEAN_WORDS)), values)


def words(values: pd.Series) -> pd.Series:
    """Strings in an object column, ``NaN`` where missing (what scikit-learn expects)."""
    return values.astype(object).where(values.notna(), np.nan)


def read_rows(path: Path) -> pd.DataFrame:
    """A prepared CSV file (or any file of rows with the contract's columns), typed as above."""
    present = pd.read_csv(path, nrows=0).columns
    dtypes = {name: "string" for name in WORD_COLUMNS if name in present}
    frame = pd.read_csv(path, dtype=dtypes)
    for name in dtypes:
        frame[name] = words(frame[name])
    return frame


def model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """The features in the contract's order: numbers as float64, words as object strings."""
    features = frame[list(FEATURES)].copy()
    for name in FEATURES:
        if name in STRING_FEATURES:
            features[name] = words(features[name])
        else:
            features[name] = pd.to_numeric(features[name]).astype("float64")
    return features
