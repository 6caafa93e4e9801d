"""Scoring with ONNX Runtime: the exported graph in one session, fed NumPy arrays.

``make export-model`` writes ``model.onnx`` beside the scikit-learn model only once ONNX Runtime
has reproduced its scores (see ``onnx_export.py``). The graph takes two matrices, one row per
record: the numbers (float64) and the strings (the string features), each with its features in
the contract's order, and returns a classifier's ``probabilities`` (one column per class) or a
regressor's values (``variable``; ``answers.py`` names the task's output). Its metadata lists
the contract's names (``features``) and each input's (``inputs``); a graph without ``inputs``
(exported before they were packed) takes one column per feature. A string has no NaN: a
missing value goes in as :data:`MISSING`, which the graph imputes, and a value that the
contract does not list as :data:`UNKNOWN`, which the encoder knows not (as it knows no
unlisted value). A call runs on one thread: for a graph this small, spreading it over
cores costs more than it saves. Only NumPy and onnxruntime are imported here, so the service
scores without the training stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from .answers import ANSWERS
from .rows import COLUMNS, Columns

FEATURES_KEY = "features"  # the graph's metadata: the contract's names of its features, in order
INPUTS_KEY = "inputs"  # the graph's metadata: each input's features (see ``onnx_export.py``)
NUMBERS, STRINGS = "numbers", "strings"  # the inputs' names (unless a feature has them)
STRING_INPUT = "tensor(string)"
MISSING = "\x00missing"  # a string feature's missing value, as the graph's imputer knows it
UNKNOWN = "\x00unknown"  # any value of a string feature that the contract does not list
THREADS = 1
ERRORS = (
    ort_errors.Fail,
    ort_errors.InvalidArgument,
    ort_errors.InvalidGraph,
    ort_errors.InvalidProtobuf,
    ort_errors.NoSuchFile,
    ort_errors.NotImplemented,
    ort_errors.RuntimeException,
)


def session(model: Path | bytes) -> ort.InferenceSession:
    """An ONNX Runtime session on the CPU, one thread per call; ValueError if it cannot load."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = THREADS
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: its warnings are not the service's log
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except ERRORS as error:
        raise ValueError(f"ONNX Runtime cannot load the graph: {error}") from None


def _contract_names(scorer: ort.InferenceSession) -> list[str]:
    """The contract's names of the graph's features: its metadata's, else the inputs' own."""
    declared = scorer.get_modelmeta().custom_metadata_map.get(FEATURES_KEY)
    names: list[str] = (
        json.loads(declared) if declared else [node.name for node in scorer.get_inputs()]
    )
    return names


def _packed(scorer: ort.InferenceSession, names: list[str]) -> dict[str, list[str]]:
    """Each input of the graph with the features it takes (a matrix of them): its metadata's
    ``inputs`` (see ``onnx_export.pack_inputs``), else one feature per input, in order (a graph
    exported before the inputs were packed)."""
    declared = scorer.get_modelmeta().custom_metadata_map.get(INPUTS_KEY)
    if declared:
        packed: dict[str, list[str]] = json.loads(declared)
        return packed
    return {node.name: [name] for node, name in zip(scorer.get_inputs(), names, strict=False)}


def _as_strings(block: np.ndarray, listed: list[frozenset[Any]]) -> np.ndarray:
    """String features' columns as the graph takes them: listed values as they are, a missing
    one (NaN) as :data:`MISSING`, any other as :data:`UNKNOWN`."""
    values = [
        value if value in known else UNKNOWN if isinstance(value, str) else MISSING
        for row in block.tolist()
        for value, known in zip(row, listed, strict=True)
    ]
    return np.array(values, dtype=object).reshape(block.shape)


Feed = tuple[str, np.ndarray, list[frozenset[Any]] | None]  # input, positions, strings' values


def route(
    scorer: ort.InferenceSession, columns: Columns = COLUMNS, output: str = ANSWERS.output
) -> Callable[[np.ndarray], np.ndarray]:
    """rows (``Columns.array``: one column per feature, in order) -> the graph's ``output``:
    probabilities of each class, or a regressor's values (one column)."""
    names = _contract_names(scorer)
    packed = _packed(scorer, names)
    inputs = {node.name: node.type for node in scorer.get_inputs()}
    outputs = [node.name for node in scorer.get_outputs()]
    taken = [feature for features in packed.values() for feature in features]
    if (
        names != list(columns.names)
        or sorted(taken) != sorted(names)
        or set(packed) != set(inputs)
        or output not in outputs
    ):
        raise ValueError(
            f"the ONNX graph takes {names} and gives {outputs}; expected the features "
            f"({', '.join(columns.names)}) and '{output}'"
        )
    strings = [
        f for name, features in packed.items() if inputs[name] == STRING_INPUT for f in features
    ]
    if sorted(strings) != sorted(columns.strings):
        raise ValueError(
            f"the ONNX graph takes strings for {strings}; expected them for the string "
            f"features ({', '.join(columns.strings) or 'none'})"
        )
    feeds: list[Feed] = [
        (
            name,
            np.array([names.index(feature) for feature in features], dtype=np.intp),
            [frozenset(columns.codes[f]) for f in features]
            if inputs[name] == STRING_INPUT
            else None,
        )
        for name, features in packed.items()
    ]
    wanted = [output]

    def predict(rows: np.ndarray) -> np.ndarray:
        feed = {
            name: (
                rows[:, positions].astype(np.float64, copy=False)
                if listed is None
                else _as_strings(rows[:, positions], listed)
            )
            for name, positions, listed in feeds
        }
        return np.asarray(scorer.run(wanted, feed)[0], dtype=np.float64)

    return predict


def load(path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The scoring route of the graph at ``path`` and the runtime's name, e.g. onnxruntime 1.22."""
    return route(session(path)), f"onnxruntime {ort.__version__}"
