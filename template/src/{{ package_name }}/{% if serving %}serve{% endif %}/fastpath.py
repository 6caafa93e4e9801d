"""A NumPy route through the fitted pipeline, skipping pandas on every request.

Fed a DataFrame, scikit-learn checks and slices it column by column on each call, which costs
several milliseconds even for one row. The training pipeline (a ``ColumnTransformer`` of named
columns, then the classifier) gives the same answer when each fitted transformer receives its
columns of a plain array: float64 for numbers and integer codes, objects (strings, NaN when
missing) for a group that holds a string feature, as the DataFrame's columns were in training.
:func:`numpy_route` builds that route, and keeps it only when it reproduces the pipeline's own
scores (a classifier's probabilities, a regressor's values: ``answers.py``) exactly, without a
warning, on rows that cover every category, both ends of every numeric range, each missing
value the contract allows and an unknown string (:func:`probe_rows`); otherwise (another kind
of model) the service calls the pipeline with a DataFrame as usual.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from .answers import ANSWERS
from .rows import COLUMNS, Columns

Route = Callable[[np.ndarray], np.ndarray]
# A string feature's value that no contract lists: the probe rows check that it is scored.
UNKNOWN_PROBE = "(a value that the contract does not list)"


def probe_rows(columns: Columns = COLUMNS) -> np.ndarray:
    """Valid rows covering each category, each numeric bound, each feature that may be missing
    (missing) and each string feature (an unknown value) at least once."""
    base: dict[str, float | str | None] = {
        name: (sum(columns.ranges[name]) / 2 if name in columns.ranges else columns.codes[name][0])
        for name in columns.names
    }
    rows = [base]
    rows += [{**base, name: code} for name, codes in columns.codes.items() for code in codes]
    rows += [{**base, name: bound} for name, bounds in columns.ranges.items() for bound in bounds]
    rows += [{**base, name: None} for name in columns.names if name in columns.may_be_missing]
    rows += [{**base, name: UNKNOWN_PROBE} for name in columns.strings]
    return columns.array([[row[name] for name in columns.names] for row in rows])


def _unnamed(transformer: Any) -> Any:
    """A copy of a fitted transformer (or of each step of a pipeline of them) that forgets the
    column names it was fitted with: it will see an array, not a DataFrame."""
    unnamed = copy.deepcopy(transformer)
    for step in unnamed.named_steps.values() if isinstance(unnamed, Pipeline) else [unnamed]:
        vars(step).pop("feature_names_in_", None)
    return unnamed


Part = tuple[Any, np.ndarray, bool]  # a fitted transformer, its columns' positions, numbers?


def _parts(columns: ColumnTransformer, features: Columns) -> list[Part] | None:
    """Each fitted transformer with the positions of its columns and whether they are all
    numbers (cast to float64), or None if unsupported."""
    parts = []
    for _, transformer, names in columns.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if isinstance(transformer, str) or not all(name in features.names for name in names):
            return None  # passthrough, or columns chosen by position or by a callable
        positions = np.array([features.names.index(name) for name in names], dtype=np.intp)
        numbers = not any(name in features.strings for name in names)
        parts.append((_unnamed(transformer), positions, numbers))
    return parts


def _route(pipeline: Any, features: Columns, method: str) -> Route | None:
    """The array route through ``pipeline`` to its ``method``, if it has the supported shape."""
    if not isinstance(pipeline, Pipeline) or len(pipeline) < 2:
        return None
    columns, rest = pipeline[0], pipeline[1:]
    parts = _parts(columns, features) if isinstance(columns, ColumnTransformer) else None
    if not parts:
        return None
    score: Callable[[Any], np.ndarray] = getattr(rest, method)

    def predict(rows: np.ndarray) -> np.ndarray:
        blocks = [
            transformer.transform(
                rows[:, positions].astype(float) if numbers else rows[:, positions]
            )
            for transformer, positions, numbers in parts
        ]
        if columns.sparse_output_:
            return score(sparse.hstack(blocks).tocsr())
        dense = [
            # scipy-stubs: issparse narrows to SparseABC, which declares no toarray (every
            # sparse array and matrix has it).
            block.toarray() if sparse.issparse(block) else block  # type: ignore[attr-defined]
            for block in blocks
        ]
        return score(np.hstack(dense))

    return predict


def frame(rows: np.ndarray, columns: Columns = COLUMNS) -> pd.DataFrame:
    """Rows as the DataFrame the pipeline was fitted on: float64 columns, and object columns
    (strings, NaN when missing) for the string features."""
    if rows.dtype != object:
        return pd.DataFrame(rows, columns=columns.names)
    return pd.DataFrame(
        {
            name: (
                pd.Series(rows[:, i], dtype=object)
                if name in columns.strings
                else rows[:, i].astype(float)
            )
            for i, name in enumerate(columns.names)
        }
    )


def dataframe_route(
    pipeline: Any, columns: Columns = COLUMNS, method: str = ANSWERS.method
) -> Route:
    """The usual route: the whole pipeline's ``method``, fed a DataFrame with the feature
    names."""
    score = getattr(pipeline, method)

    def predict(rows: np.ndarray) -> np.ndarray:
        return np.asarray(score(frame(rows, columns)))

    return predict


def numpy_route(
    pipeline: Any,
    probe: np.ndarray | None = None,
    columns: Columns = COLUMNS,
    method: str = ANSWERS.method,
) -> Route | None:
    """The array route when it matches the pipeline's ``method`` exactly on ``probe`` rows,
    else None."""
    route = _route(pipeline, columns, method)
    if route is None:
        return None
    rows = probe_rows(columns) if probe is None else columns.array(probe)
    try:
        expected = dataframe_route(pipeline, columns, method)(rows)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            actual = route(rows)
    except (Warning, ValueError, TypeError, AttributeError):
        return None  # either route fails on the probe rows (e.g. an encoder refusing unknowns)
    return route if np.array_equal(actual, expected) else None
