"""Scoring with ONNX Runtime: the exported graph in one session, fed NumPy arrays.

``make export-model`` writes ``model.onnx`` beside the scikit-learn model only once ONNX Runtime
has reproduced its scores (see ``onnx_export.py``). The graph takes one column per feature, in
the contract's order: float64, or strings for a string feature, and returns a classifier's
``probabilities`` (one column per class) or a regressor's values (``variable``; ``answers.py``
names the task's output). Its inputs' names are the contract's when those are identifiers (the
converter rewrites others), and its metadata (``features``) lists the contract's names. A string
input has no NaN: a missing value goes in as :data:`MISSING`, which the graph imputes, and a
value that the contract does not list as :data:`UNKNOWN`, which the encoder knows not (as it
knows no unlisted value). A call runs on one thread: for a graph this small, spreading it over
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

FEATURES_KEY = "features"  # the graph's metadata: the contract's names of its inputs, in order
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
    """The contract's names of the graph's inputs: its metadata's, else the inputs' own."""
    declared = scorer.get_modelmeta().custom_metadata_map.get(FEATURES_KEY)
    names: list[str] = (
        json.loads(declared) if declared else [node.name for node in scorer.get_inputs()]
    )
    return names


def _as_strings(values: np.ndarray, listed: frozenset[Any]) -> np.ndarray:
    """A string feature's column as the graph takes it: listed values as they are, a missing
    one (NaN) as :data:`MISSING`, any other as :data:`UNKNOWN`."""
    column = [
        value if value in listed else UNKNOWN if isinstance(value, str) else MISSING
        for value in values
    ]
    return np.array(column, dtype=object).reshape(-1, 1)


def route(
    scorer: ort.InferenceSession, columns: Columns = COLUMNS, output: str = ANSWERS.output
) -> Callable[[np.ndarray], np.ndarray]:
    """rows (``Columns.array``: one column per feature, in order) -> the graph's ``output``:
    probabilities of each class, or a regressor's values (one column)."""
    inputs = [node.name for node in scorer.get_inputs()]
    strings = [node.name for node in scorer.get_inputs() if node.type == STRING_INPUT]
    outputs = [node.name for node in scorer.get_outputs()]
    names = _contract_names(scorer)
    if names != list(columns.names) or len(inputs) != len(names) or output not in outputs:
        raise ValueError(
            f"the ONNX graph takes {names} and gives {outputs}; expected one input per "
            f"feature ({', '.join(columns.names)}) and '{output}'"
        )
    if [names[inputs.index(name)] for name in strings] != list(columns.strings):
        raise ValueError(
            f"the ONNX graph takes strings for {strings}; expected them for the string "
            f"features ({', '.join(columns.strings) or 'none'})"
        )
    wanted = [output]
    if not strings:

        def predict_proba(rows: np.ndarray) -> np.ndarray:
            by_feature = np.ascontiguousarray(rows.T, dtype=np.float64)  # (n, 1) views
            feed = {name: by_feature[i].reshape(-1, 1) for i, name in enumerate(inputs)}
            return np.asarray(scorer.run(wanted, feed)[0], dtype=np.float64)

        return predict_proba

    listed = [
        frozenset(columns.codes[names[i]]) if name in strings else None
        for i, name in enumerate(inputs)
    ]

    def predict_mixed(rows: np.ndarray) -> np.ndarray:
        feed = {
            name: (
                rows[:, i].astype(np.float64).reshape(-1, 1)
                if known is None
                else _as_strings(rows[:, i], known)
            )
            for i, (name, known) in enumerate(zip(inputs, listed, strict=True))
        }
        return np.asarray(scorer.run(wanted, feed)[0], dtype=np.float64)

    return predict_mixed


def load(path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The scoring route of the graph at ``path`` and the runtime's name, e.g. onnxruntime 1.22."""
    return route(session(path)), f"onnxruntime {ort.__version__}"
