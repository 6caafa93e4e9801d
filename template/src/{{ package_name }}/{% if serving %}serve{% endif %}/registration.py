"""At registration, the ONNX graph joins the logged model, once it has passed the exactness gate.

The evaluate stage calls :func:`attach` with the fitted pipeline and the held-back test rows
before it registers the model: the only moment when both are at hand (a pod that loads a
registered version has no rows to check a conversion on). The same gate as ``make
export-model``'s (``onnx_export.py``) decides; the logged model's artifacts then gain
``onnx_gate.json`` (its figures) and, when it passed, ``model.onnx``. Every version registered
from that model downloads both, and the service scores it with ONNX Runtime (``model.py``).
When the gate fails, one warning says why and the version is registered without a graph: the
service scores it with scikit-learn, as it does a version registered before this step existed.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from .model import GATE_FILE, ONNX_FILE
from .onnx_export import OnnxGate, gate

LOG = logging.getLogger(__name__)


def attach(
    client: MlflowClient,
    model_id: str | None,
    pipeline: Any,
    rows: pd.DataFrame | np.ndarray,
    threshold: float | None,
) -> OnnxGate | None:
    """Gate the fitted ``pipeline`` on the held-back ``rows`` (a DataFrame with the feature
    columns, as the pipeline was fitted on, or rows of features in schema order) and log the
    figures, and the graph if it passed, to the logged model ``model_id``.

    ``None`` when there is no logged model to add them to (``models/run.json`` from a train
    stage older than MLflow's logged models): the version is registered as it is.
    """
    if model_id is None:
        LOG.warning("no model_id from the train stage: registered without an ONNX graph")
        return None
    result, graph = gate(pipeline, rows, threshold)
    with tempfile.TemporaryDirectory(prefix="onnx-") as scratch:
        staging = Path(scratch)
        figures = json.dumps(result.as_dict(), indent=2) + "\n"
        (staging / GATE_FILE).write_text(figures, encoding="utf-8")
        if graph is not None:
            (staging / ONNX_FILE).write_bytes(graph)
        client.log_model_artifacts(model_id, str(staging))
    if graph is None:
        LOG.warning("registered without %s, served with scikit-learn: %s", ONNX_FILE, result.reason)
    else:
        LOG.info("%s goes to the registry with the model: %s", ONNX_FILE, result.reason)
    return result
