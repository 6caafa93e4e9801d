"""The exported pipeline as ONNX, kept only when ONNX Runtime reproduces scikit-learn exactly.

skl2onnx converts the fitted pipeline (the column transformer, then the classifier) at a fixed
opset, with one input per feature: float64, or strings for a string feature (see
``onnx_model.py``; its imputers are made convertible by ``onnx_missing.py``). scikit-learn's
trees compare float32 copies of their inputs, so a cast to float32 is placed before a tree
model, as scikit-learn does, and before histogram gradient boosting, which ONNX's tree ensemble
runs in float32 (its skl2onnx converter is mended by :func:`register_boosting`). A classifier's
graph gives its probabilities as a matrix (no ZipMap), a regressor's its values. The exactness
gate then scores, with scikit-learn (a DataFrame, as in training) and with ONNX Runtime, the
held-back rows and rows covering every category, both ends of every numeric range, each
feature that may be missing and an unknown string (``fastpath.probe_rows``), and compares, by
task (:func:`compare`):

- binary: the positive class's probabilities agree within :data:`TOLERANCE`, and give the same
  class at the threshold;
- multiclass: every class's probabilities agree within :data:`TOLERANCE`, and give the same most
  probable class;
- regression: the values agree within :data:`TOLERANCE` times the target's scale (the largest
  |value| scikit-learn predicts on those rows, at least 1; the figures give it as ``scale`` and
  ``tolerance`` is then the absolute one).

If it does not, or if the conversion fails, no graph is kept and the service scores with
scikit-learn; :class:`OnnxGate` records why, and with which figures.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..core.decision import classify
from . import onnx_missing, onnx_model
from .answers import ANSWERS, Answers, BinaryAnswers, MulticlassAnswers
from .fastpath import dataframe_route, probe_rows
from .rows import COLUMNS, Columns

if TYPE_CHECKING:
    from onnx import ModelProto

# Opsets of the graph: fixed, so that an export does not change with the installed skl2onnx.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
# Largest |ONNX Runtime - scikit-learn| accepted for any probability. Logistic regression runs in
# float64 both ways and agrees to ~1e-16. A forest sums float32 leaf values in ONNX Runtime
# (float64 in scikit-learn): 9e-7 for the default 300 trees; 1e-5 leaves room for larger
# forests and is far below any difference that matters, the class at the threshold is checked too.
TOLERANCE = 1e-5
FLOAT32_MODELS = (
    DecisionTreeClassifier,
    RandomForestClassifier,
    ExtraTreesClassifier,
    DecisionTreeRegressor,
    RandomForestRegressor,
    ExtraTreesRegressor,
    # Its thresholds are float64, but ONNX's tree ensemble (ai.onnx.ml opset 3) compares and
    # sums in float32: the gate decides whether that is exact enough on the rows it checks.
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
RUNTIMES = ("scikit-learn", "skl2onnx", "onnx", "onnxruntime")
CONVERSION_ERRORS = (RuntimeError, TypeError, ValueError, AttributeError, KeyError)
MISSING_FLAGS = "nodes_missing_value_tracks_true"


@dataclass(frozen=True)
class OnnxGate:  # pylint: disable=too-many-instance-attributes  # a record of figures
    """The outcome of the conversion and exactness gate, written beside the exported model."""

    exported: bool
    reason: str
    rows: int = 0
    max_abs_difference: float | None = None
    class_mismatches: int = 0
    tolerance: float = TOLERANCE
    threshold: float | None = 0.5  # binary only
    task: str = "binary"
    scale: float | None = None  # regression: the tolerance is TOLERANCE x scale
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


def _integer_flags(converter: Any) -> Any:
    """skl2onnx's tree-ensemble converter with each node's missing-value flag an integer:
    skl2onnx 1.20 gives a histogram gradient boosting model's leaves ``False``, which ONNX
    refuses in an integer attribute (the conversion fails)."""

    def mended(scope: Any, operator: Any, container: Any) -> None:
        add_node = container.add_node

        def add(*args: Any, **attributes: Any) -> Any:
            flags = attributes.get(MISSING_FLAGS)
            if flags is not None:
                attributes[MISSING_FLAGS] = [int(flag) for flag in flags]
            return add_node(*args, **attributes)

        container.add_node = add  # for this model's nodes only
        try:
            converter(scope, operator, container)
        finally:
            del container.add_node

    return mended


def register_boosting() -> None:
    """skl2onnx's converters of histogram gradient boosting, with integer flags (idempotent:
    the same options as skl2onnx registers)."""
    # pylint: disable=import-outside-toplevel  # only the export converts
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.operator_converters.random_forest import (
        convert_sklearn_random_forest_classifier,
        convert_sklearn_random_forest_regressor_converter,
    )

    update_registered_converter(
        HistGradientBoostingClassifier,
        "SklearnHistGradientBoostingClassifier",
        calculate_linear_classifier_output_shapes,
        _integer_flags(convert_sklearn_random_forest_classifier),
        options={
            "zipmap": [True, False, "columns"],
            "raw_scores": [True, False],
            "output_class_labels": [False, True],
            "nocl": [True, False],
        },
    )
    update_registered_converter(
        HistGradientBoostingRegressor,
        "SklearnHistGradientBoostingRegressor",
        calculate_linear_regressor_output_shapes,
        _integer_flags(convert_sklearn_random_forest_regressor_converter),
        options={"raw_scores": [True, False]},
    )


def for_conversion(pipeline: Any, columns: Columns = COLUMNS) -> Any:
    """The pipeline as skl2onnx should see it: imputers it can convert (``onnx_missing.py``)
    and a float32 cast before a tree model."""
    from skl2onnx.sklapi import CastTransformer  # pylint: disable=import-outside-toplevel

    pipeline = onnx_missing.convertible(pipeline, columns)
    if isinstance(pipeline, Pipeline) and isinstance(pipeline[-1], FLOAT32_MODELS):
        cast = ("float32", CastTransformer(dtype=np.float32).fit(np.zeros((1, 1))))
        return Pipeline([*pipeline.steps[:-1], cast, pipeline.steps[-1]])
    return pipeline


def convert(pipeline: Any, columns: Columns = COLUMNS, answers: Answers = ANSWERS) -> bytes:
    """The fitted pipeline as a serialized ONNX graph (one input per feature, see above)."""
    # pylint: disable=import-outside-toplevel  # only the export converts
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    onnx_missing.register()
    register_boosting()
    model = for_conversion(pipeline, columns)
    estimator = model[-1] if isinstance(model, Pipeline) else model
    # A classifier's probabilities as a matrix, not a list of dicts; a regressor has no option.
    no_zipmap = {"zipmap": False}
    options = {id(estimator): no_zipmap} if answers.method == "predict_proba" else None
    inputs = [
        (name, (StringTensorType if name in columns.strings else DoubleTensorType)([None, 1]))
        for name in columns.names
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skl2onnx's notes on opsets are not the user's concern
        graph: ModelProto = convert_sklearn(
            model,
            initial_types=inputs,
            target_opset=TARGET_OPSET,
            options=options,
        )
    names = graph.metadata_props.add()  # skl2onnx rewrites names that are not identifiers
    names.key, names.value = onnx_model.FEATURES_KEY, json.dumps(list(columns.names))
    pack_inputs(graph, columns)
    return graph.SerializeToString()


def pack_inputs(graph: Any, columns: Columns = COLUMNS) -> None:
    """Give ``graph`` (skl2onnx's, one input per feature) two inputs instead: a matrix of the
    numbers and one of the strings (their features in the contract's order), which feed the
    former inputs (:func:`unpack`). ONNX Runtime's fixed cost per input and per call (a few
    microseconds each) then stops growing with the features: for 50 of them, a call for one
    row took 70 us instead of 150 us. The metadata (``inputs``) lists each input's features."""
    from onnx import TensorProto, helper  # pylint: disable=import-outside-toplevel  # export

    per_feature = list(graph.graph.input)
    taken = {node.name for node in per_feature}
    numbers = [name for name in columns.names if name not in columns.strings]
    packed: dict[str, list[str]] = {}
    for name, kind, group in (
        (onnx_model.NUMBERS, TensorProto.DOUBLE, numbers),
        (onnx_model.STRINGS, TensorProto.STRING, list(columns.strings)),
    ):
        if not group:
            continue
        while name in taken:
            name += "_"
        graph.graph.input.append(helper.make_tensor_value_info(name, kind, [None, len(group)]))
        unpack(graph, name, [per_feature[columns.names.index(feature)].name for feature in group])
        packed[name] = group
    for node in per_feature:
        graph.graph.input.remove(node)
    inputs = graph.metadata_props.add()
    inputs.key, inputs.value = onnx_model.INPUTS_KEY, json.dumps(packed)


def unpack(graph: Any, matrix: str, columns: list[str]) -> None:
    """Feed the inputs ``columns`` from ``matrix``, one column each: a ``Concat`` of exactly
    them, in order, becomes the matrix itself (13 us less per call for 40 numbers); any other
    use gets its column from a ``Split``."""
    from onnx import TensorProto, helper  # pylint: disable=import-outside-toplevel  # export

    nodes = graph.graph.node
    for node in nodes:
        axis = next((attribute.i for attribute in node.attribute if attribute.name == "axis"), 0)
        if node.op_type == "Concat" and list(node.input) == columns and axis in (1, -1):
            node.CopyFrom(helper.make_node("Identity", [matrix], list(node.output), node.name))
    if any(name in node.input for node in nodes for name in columns):
        ones = helper.make_tensor(
            f"{matrix}_sizes", TensorProto.INT64, [len(columns)], [1] * len(columns)
        )
        graph.graph.initializer.append(ones)
        nodes.insert(0, helper.make_node("Split", [matrix, ones.name], columns, axis=1))


def differences(
    answers: Answers, expected: np.ndarray, actual: np.ndarray, threshold: float | None
) -> tuple[float, int, float | None]:
    """The largest |ONNX Runtime - scikit-learn| of the task's scores, the classes changed, and
    a regression's scale (else None)."""
    if isinstance(answers, BinaryAnswers):
        expected, actual = expected[:, 1], actual[:, 1]
        chosen = 0.5 if threshold is None else threshold
        mismatches = int(np.sum(classify(actual, chosen) != classify(expected, chosen)))
        return float(np.max(np.abs(actual - expected))), mismatches, None
    if isinstance(answers, MulticlassAnswers):
        mismatches = int(np.sum(np.argmax(actual, axis=1) != np.argmax(expected, axis=1)))
        return float(np.max(np.abs(actual - expected))), mismatches, None
    expected, actual = expected.reshape(-1), actual.reshape(-1)
    scale = max(1.0, float(np.max(np.abs(expected))))
    return float(np.max(np.abs(actual - expected))), 0, scale


def compare(
    answers: Answers,
    expected: np.ndarray,
    actual: np.ndarray,
    threshold: float | None,
    tolerance: float = TOLERANCE,
) -> OnnxGate:
    """scikit-learn's scores (``expected``) against ONNX Runtime's, by task (see above)."""
    difference, mismatches, scale = differences(answers, expected, actual, threshold)
    allowed = tolerance if scale is None else tolerance * scale
    bound = f"{allowed:g}" if scale is None else f"{tolerance:g} x {scale:g} = {allowed:g}"
    if difference > allowed or mismatches:
        reason = (
            f"ONNX Runtime's {'probabilities' if scale is None else 'values'} differ from "
            f"scikit-learn's by up to {difference:.2g} (tolerance {bound}) with {mismatches} "
            f"class(es) changed, on {len(expected)} rows"
        )
        exported = False
    else:
        reason = f"max |difference| {difference:.2g} <= {bound} on {len(expected)} rows"
        exported = True
    return OnnxGate(
        exported,
        reason,
        rows=len(expected),
        max_abs_difference=difference,
        class_mismatches=mismatches,
        tolerance=allowed,
        threshold=threshold,
        task=answers.name,
        scale=scale,
    )


def check(  # pylint: disable=too-many-arguments  # the gate's settings
    pipeline: Any,
    graph: bytes,
    held_back: pd.DataFrame | np.ndarray,
    threshold: float | None,
    tolerance: float = TOLERANCE,
    *,
    columns: Columns = COLUMNS,
    answers: Answers = ANSWERS,
) -> OnnxGate:
    """Score the held-back and the probe rows both ways, and compare (see the docstring)."""
    held = feature_rows(held_back, columns).reshape(-1, len(columns.names))
    rows = np.vstack([held, probe_rows(columns)])
    expected = dataframe_route(pipeline, columns, answers.method)(rows)
    scorer = onnx_model.session(graph)
    actual = onnx_model.route(scorer, columns, answers.output)(rows)
    return compare(answers, expected, actual, threshold, tolerance)


def gate(  # pylint: disable=too-many-arguments  # the gate's settings
    pipeline: Any,
    held_back: pd.DataFrame | np.ndarray,
    threshold: float | None,
    tolerance: float = TOLERANCE,
    *,
    columns: Columns = COLUMNS,
    answers: Answers = ANSWERS,
) -> tuple[OnnxGate, bytes | None]:
    """Convert and check; the graph only when it passed, else None with the reason.

    ``held_back``: the held-back rows' features, a DataFrame (its feature columns are used) or
    rows in feature order."""
    try:
        graph = convert(pipeline, columns, answers)
        result = check(
            pipeline, graph, held_back, threshold, tolerance, columns=columns, answers=answers
        )
    except CONVERSION_ERRORS as error:  # skl2onnx's (RuntimeError) and ONNX Runtime's
        lines = str(error).strip().splitlines()
        reason = f"cannot convert the model to ONNX: {lines[0] if lines else type(error).__name__}"
        failed = OnnxGate(
            exported=False,
            reason=reason,
            threshold=threshold,
            tolerance=tolerance,
            task=answers.name,
        )
        return failed, None
    return result, graph if result.exported else None
