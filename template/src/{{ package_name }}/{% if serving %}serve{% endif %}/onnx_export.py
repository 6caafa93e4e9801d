"""The exported pipeline as ONNX, kept only when ONNX Runtime reproduces scikit-learn exactly.

skl2onnx converts the fitted pipeline (the column transformer, then the classifier) at a fixed
opset, with one input per feature: float64, or strings for a string feature (see
``onnx_model.py``; its imputers are made convertible by ``onnx_missing.py``). scikit-learn's
trees compare float32 copies of their inputs, so a cast to float32 is placed before a tree
model, as scikit-learn does. The exactness gate then scores, with scikit-learn (a DataFrame, as
in training) and with ONNX Runtime, the held-back rows and rows covering every category, both
ends of every numeric range, each feature that may be missing and an unknown string
(``fastpath.probe_rows``): every probability must agree within :data:`TOLERANCE` and give the
same class at the threshold. If it does not, or if the conversion fails, no graph is kept and
the service scores with scikit-learn; :class:`OnnxGate` records why, and with which figures.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from ..core.decision import classify
from . import onnx_missing, onnx_model
from .fastpath import dataframe_route, probe_rows
from .rows import COLUMNS, Columns

# Opsets of the graph: fixed, so that an export does not change with the installed skl2onnx.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
# Largest |ONNX Runtime - scikit-learn| accepted for any probability. Logistic regression runs in
# float64 both ways and agrees to ~1e-16. A forest sums float32 leaf values in ONNX Runtime
# (float64 in scikit-learn): 9e-7 for the default 300 trees; 1e-5 leaves room for larger
# forests and is far below any difference that matters, the class at the threshold is checked too.
TOLERANCE = 1e-5
FLOAT32_MODELS = (DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)
RUNTIMES = ("scikit-learn", "skl2onnx", "onnx", "onnxruntime")
CONVERSION_ERRORS = (RuntimeError, TypeError, ValueError, AttributeError, KeyError)


@dataclass(frozen=True)
class OnnxGate:  # pylint: disable=too-many-instance-attributes  # a record of figures
    """The outcome of the conversion and exactness gate, written beside the exported model."""

    exported: bool
    reason: str
    rows: int = 0
    max_abs_difference: float | None = None
    class_mismatches: int = 0
    tolerance: float = TOLERANCE
    threshold: float = 0.5
    opset: dict[str, int] = field(default_factory=lambda: dict(TARGET_OPSET))
    versions: dict[str, str] = field(
        default_factory=lambda: {name: metadata.version(name) for name in RUNTIMES}
    )

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        return asdict(self)


def feature_rows(data: pd.DataFrame | np.ndarray, columns: Columns = COLUMNS) -> np.ndarray:
    """Held-back rows (a DataFrame with the feature columns, or rows in feature order) as the
    service's array of them (``Columns.array``)."""
    if isinstance(data, pd.DataFrame):
        return columns.array(data[list(columns.names)].to_numpy(dtype=object))
    return columns.array(np.asarray(data, dtype=object if columns.strings else float))


def for_conversion(pipeline: Any, columns: Columns = COLUMNS) -> Any:
    """The pipeline as skl2onnx should see it: imputers it can convert (``onnx_missing.py``)
    and a float32 cast before a tree model."""
    from skl2onnx.sklapi import CastTransformer  # pylint: disable=import-outside-toplevel

    pipeline = onnx_missing.convertible(pipeline, columns)
    if isinstance(pipeline, Pipeline) and isinstance(pipeline[-1], FLOAT32_MODELS):
        cast = ("float32", CastTransformer(dtype=np.float32).fit(np.zeros((1, 1))))
        return Pipeline([*pipeline.steps[:-1], cast, pipeline.steps[-1]])
    return pipeline


def convert(pipeline: Any, columns: Columns = COLUMNS) -> bytes:
    """The fitted pipeline as a serialized ONNX graph (one input per feature, see above)."""
    # pylint: disable=import-outside-toplevel  # only the export converts
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    onnx_missing.register()
    model = for_conversion(pipeline, columns)
    classifier = model[-1] if isinstance(model, Pipeline) else model
    no_zipmap = {"zipmap": False}  # probabilities as a matrix, not a list of dicts
    inputs = [
        (name, (StringTensorType if name in columns.strings else DoubleTensorType)([None, 1]))
        for name in columns.names
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skl2onnx's notes on opsets are not the user's concern
        graph = convert_sklearn(
            model,
            initial_types=inputs,
            target_opset=TARGET_OPSET,
            options={id(classifier): no_zipmap},
        )
    names = graph.metadata_props.add()  # skl2onnx rewrites names that are not identifiers
    names.key, names.value = onnx_model.FEATURES_KEY, json.dumps(list(columns.names))
    return graph.SerializeToString()


def check(  # pylint: disable=too-many-arguments  # the gate's settings
    pipeline: Any,
    graph: bytes,
    held_back: pd.DataFrame | np.ndarray,
    threshold: float,
    tolerance: float = TOLERANCE,
    *,
    columns: Columns = COLUMNS,
) -> OnnxGate:
    """Score the held-back and the probe rows both ways, and compare (see the docstring)."""
    held = feature_rows(held_back, columns).reshape(-1, len(columns.names))
    rows = np.vstack([held, probe_rows(columns)])
    expected = dataframe_route(pipeline, columns)(rows)[:, 1]
    actual = onnx_model.route(onnx_model.session(graph), columns)(rows)[:, 1]
    difference = float(np.max(np.abs(actual - expected)))
    mismatches = int(np.sum(classify(actual, threshold) != classify(expected, threshold)))
    figures = {"rows": len(rows), "max_abs_difference": difference, "class_mismatches": mismatches}
    settings = {"tolerance": tolerance, "threshold": threshold}
    if difference > tolerance or mismatches:
        reason = (
            f"ONNX Runtime's probabilities differ from scikit-learn's by up to {difference:.2g} "
            f"(tolerance {tolerance:g}) with {mismatches} class(es) changed, on {len(rows)} rows"
        )
        return OnnxGate(exported=False, reason=reason, **figures, **settings)
    reason = f"max |difference| {difference:.2g} <= {tolerance:g} on {len(rows)} rows"
    return OnnxGate(exported=True, reason=reason, **figures, **settings)


def gate(
    pipeline: Any,
    held_back: pd.DataFrame | np.ndarray,
    threshold: float,
    tolerance: float = TOLERANCE,
    *,
    columns: Columns = COLUMNS,
) -> tuple[OnnxGate, bytes | None]:
    """Convert and check; the graph only when it passed, else None with the reason.

    ``held_back``: the held-back rows' features, a DataFrame (its feature columns are used) or
    rows in feature order."""
    try:
        graph = convert(pipeline, columns)
        result = check(pipeline, graph, held_back, threshold, tolerance, columns=columns)
    except CONVERSION_ERRORS as error:  # skl2onnx's (RuntimeError) and ONNX Runtime's
        lines = str(error).strip().splitlines()
        reason = f"cannot convert the model to ONNX: {lines[0] if lines else type(error).__name__}"
        failed = OnnxGate(exported=False, reason=reason, threshold=threshold, tolerance=tolerance)
        return failed, None
    return result, graph if result.exported else None
