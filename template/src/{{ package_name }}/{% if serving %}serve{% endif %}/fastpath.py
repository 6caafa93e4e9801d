"""A NumPy route through the fitted pipeline, skipping pandas on every request.

Fed a DataFrame, scikit-learn checks and slices it column by column on each call, which costs
several milliseconds even for one row. The training pipeline (a ``ColumnTransformer`` of named
columns, then the classifier) gives the same answer when each fitted transformer receives its
columns of a plain array. :func:`numpy_route` builds that route, and keeps it only when it
reproduces the pipeline's own probabilities exactly, without a warning, on rows that cover
every category code and both ends of every numeric range; otherwise (another kind of model)
the service calls the pipeline with a DataFrame as usual.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from ..core.schema import CATEGORY_CODES, FEATURES, NUMERIC_RANGES

Route = Callable[[np.ndarray], np.ndarray]


def probe_rows() -> np.ndarray:
    """Valid rows covering each category code and each numeric bound at least once."""
    base = {
        name: (sum(NUMERIC_RANGES[name]) / 2 if name in NUMERIC_RANGES else CATEGORY_CODES[name][0])
        for name in FEATURES
    }
    rows = [base]
    rows += [{**base, name: code} for name, codes in CATEGORY_CODES.items() for code in codes]
    rows += [{**base, name: bound} for name, bounds in NUMERIC_RANGES.items() for bound in bounds]
    return np.array([[row[name] for name in FEATURES] for row in rows], dtype=float)


def _parts(columns: ColumnTransformer) -> list[tuple[Any, np.ndarray]] | None:
    """Each fitted transformer with the positions of its columns, or None if unsupported."""
    parts = []
    for _, transformer, names in columns.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if isinstance(transformer, str) or not all(name in FEATURES for name in names):
            return None  # passthrough, or columns chosen by position or by a callable
        unnamed = copy.deepcopy(transformer)
        vars(unnamed).pop("feature_names_in_", None)  # it will see an array, not a DataFrame
        parts.append((unnamed, np.array([FEATURES.index(name) for name in names])))
    return parts


def _route(pipeline: Any) -> Route | None:
    """The array route through ``pipeline``, if it has the supported shape."""
    if not isinstance(pipeline, Pipeline) or len(pipeline) < 2:
        return None
    columns, rest = pipeline[0], pipeline[1:]
    parts = _parts(columns) if isinstance(columns, ColumnTransformer) else None
    if not parts:
        return None

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        blocks = [transformer.transform(rows[:, positions]) for transformer, positions in parts]
        if columns.sparse_output_:
            return rest.predict_proba(sparse.hstack(blocks).tocsr())
        dense = [block.toarray() if sparse.issparse(block) else block for block in blocks]
        return rest.predict_proba(np.hstack(dense))

    return predict_proba


def dataframe_route(pipeline: Any) -> Route:
    """The usual route: the whole pipeline, fed a DataFrame with the feature names."""

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        return pipeline.predict_proba(pd.DataFrame(rows, columns=FEATURES))

    return predict_proba


def numpy_route(pipeline: Any, probe: Sequence[Sequence[float]] | None = None) -> Route | None:
    """The array route when it matches the pipeline exactly on ``probe`` rows, else None."""
    route = _route(pipeline)
    if route is None:
        return None
    rows = probe_rows() if probe is None else np.asarray(probe, dtype=float)
    expected = dataframe_route(pipeline)(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            actual = route(rows)
        except (Warning, ValueError, TypeError, AttributeError):
            return None
    return route if np.array_equal(actual, expected) else None
