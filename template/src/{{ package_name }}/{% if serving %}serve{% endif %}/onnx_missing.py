"""The pipeline's imputers (features that may be missing) in a form that skl2onnx converts.

skl2onnx turns a ``SimpleImputer`` into ONNX's ``Imputer``, which ONNX Runtime implements for
float32 only (a float64 graph does not load), and converts an imputer of strings only when its
missing value is a string, not NaN. So :func:`convertible` gives a copy of the pipeline whose
imputers of numbers fill NaN with their statistics in float64 (:class:`FloatImputer`: an
``IsNaN`` and a ``Where``, exact) and whose imputers of strings take
:data:`.onnx_model.MISSING` for a missing value, as the service feeds it. The fitted statistics
are kept as they are; the exactness gate compares the graph with the pipeline itself. An
imputer of both numbers and strings is left as it is: its conversion fails, and the service
scores with scikit-learn.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from .onnx_model import MISSING
from .rows import Columns


# misc: scikit-learn ships no types, so SimpleImputer is Any to mypy, which refuses a subclass.
class FloatImputer(SimpleImputer):  # type: ignore[misc]  # pylint: disable=too-many-ancestors
    """A fitted ``SimpleImputer`` of numbers that skl2onnx converts to float64 operators."""


def _convert_float_imputer(scope: Any, operator: Any, container: Any) -> None:
    """NaN -> the column's statistic, in float64: ``Where(IsNaN(x), statistics, x)``."""
    # pylint: disable=import-outside-toplevel  # only the export converts
    from onnx import TensorProto
    from skl2onnx.operator_converters.common import concatenate_variables

    statistics = np.asarray(operator.raw_operator.statistics_, dtype=np.float64)
    features = concatenate_variables(scope, operator.inputs, container)
    fill = scope.get_unique_variable_name("fill")
    container.add_initializer(fill, TensorProto.DOUBLE, [1, statistics.size], statistics.tolist())
    missing = scope.get_unique_variable_name("missing")
    container.add_node("IsNaN", [features], [missing], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Where",
        [missing, fill, features],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Where"),
    )


def register() -> None:
    """Teach skl2onnx :class:`FloatImputer` (idempotent)."""
    # pylint: disable=import-outside-toplevel  # only the export converts
    from skl2onnx import update_registered_converter
    from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes

    update_registered_converter(
        FloatImputer,
        "ScaffoldFloatImputer",
        calculate_sklearn_imputer_output_shapes,
        _convert_float_imputer,
    )


def _imputer(step: Any, strings: bool) -> Any:
    """The convertible copy of a fitted NaN imputer (or ``step`` itself, when it is none)."""
    if not isinstance(step, SimpleImputer) or not _is_nan(step.missing_values):
        return step
    if strings:
        converted = copy.deepcopy(step)
        converted.missing_values = MISSING
        return converted
    converted = FloatImputer.__new__(FloatImputer)
    converted.__dict__.update(copy.deepcopy(vars(step)))
    return converted


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def convertible(pipeline: Any, columns: Columns) -> Any:
    """``pipeline`` with its column transformer's imputers made convertible (see above)."""
    if not isinstance(pipeline, Pipeline) or not isinstance(pipeline[0], ColumnTransformer):
        return pipeline
    converted = copy.deepcopy(pipeline)
    transformers = converted[0].transformers_
    for index, (name, transformer, names) in enumerate(transformers):
        named = isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names)
        kinds = {column in columns.strings for column in names} if named else set()
        if len(kinds) != 1:
            continue  # no columns, columns by position, or numbers and strings together
        strings = kinds.pop()
        if isinstance(transformer, Pipeline):
            first, step = transformer.steps[0]
            transformer.steps[0] = (first, _imputer(step, strings))
        else:
            transformers[index] = (name, _imputer(transformer, strings), names)
    return converted
