"""Scoring with ONNX Runtime: the exported graph in one session, fed NumPy arrays.

``make export-model`` writes ``model.onnx`` beside the scikit-learn model only once ONNX Runtime
has reproduced its probabilities (see ``onnx_export.py``). The graph takes one float64 column
per feature, named after it, and returns ``probabilities`` (one column per class). A call runs
on one thread: for a graph this small, spreading it over cores costs more than it saves. Only
NumPy and onnxruntime are imported here, so the service scores without the training stack.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from ..core.schema import FEATURES

PROBABILITIES = "probabilities"
THREADS = 1
ERRORS = (
    ort_errors.Fail,
    ort_errors.InvalidArgument,
    ort_errors.InvalidGraph,
    ort_errors.InvalidProtobuf,
    ort_errors.NoSuchFile,
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


def route(scorer: ort.InferenceSession) -> Callable[[np.ndarray], np.ndarray]:
    """rows (one column per feature, in ``FEATURES`` order) -> probabilities of each class."""
    inputs = [node.name for node in scorer.get_inputs()]
    outputs = [node.name for node in scorer.get_outputs()]
    if inputs != list(FEATURES) or PROBABILITIES not in outputs:
        raise ValueError(
            f"the ONNX graph takes {inputs} and gives {outputs}; expected one input per "
            f"feature ({', '.join(FEATURES)}) and '{PROBABILITIES}'"
        )
    wanted = [PROBABILITIES]

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        columns = np.ascontiguousarray(rows.T, dtype=np.float64)  # each feature one (n, 1) view
        feed = {name: columns[i].reshape(-1, 1) for i, name in enumerate(inputs)}
        return np.asarray(scorer.run(wanted, feed)[0], dtype=np.float64)

    return predict_proba


def load(path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The scoring route of the graph at ``path`` and the runtime's name, e.g. onnxruntime 1.22."""
    return route(session(path)), f"onnxruntime {ort.__version__}"
