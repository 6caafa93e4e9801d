"""The model the service scores with, loaded once at start-up.

Where from, in this order: ``MODEL_DIR``, an MLflow model directory (``make export-model``
writes one to models/serving, with the registered name and version beside it), when set and
not empty; else ``MODEL_URI`` from the MLflow registry (default: the ``evaluate.alias`` alias,
``champion``, of the model named after the project), in the tracking store that the pipeline
uses (see ``tracking.py``). A registered version is downloaded once, and both ways of scoring
below read that one download.

How it scores: with ONNX Runtime when the model carries an ONNX graph that reproduced
scikit-learn's scores on the held-back rows: ``model.onnx`` in an export, which
``make export-model`` writes only once its own gate passed (``onnx_export.py``), or in a
registered version, added by the evaluate stage before registration with the gate's figures
(``registration.py``, ``onnx_gate.json``). That path needs neither scikit-learn nor pandas
(``onnx_model.py``), nor MLflow for an export. Otherwise the scikit-learn pipeline is loaded
with MLflow's sklearn flavour and called directly (through ``fastpath.py`` when that is exact):
the request model has already checked every value, so the pyfunc wrapper's per-call schema
enforcement would only add latency. A version registered without a graph (before the gate
existed, or when it failed) is scored that way. Those libraries are imported only on that path.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import tracking
from ..core.decision import DEFAULT_THRESHOLD
from ..core.messages import ModelDescription
from ..errors import StageError
from ..params import DEFAULT_ALIAS, Params
from ..settings import Settings
from .answers import ANSWERS
from .rows import COLUMNS

MODEL_DIR_ENV = "MODEL_DIR"
MODEL_URI_ENV = "MODEL_URI"
CHALLENGER_PREFIX = "CHALLENGER_"  # CHALLENGER_MODEL_DIR, CHALLENGER_MODEL_URI: the challenger's
CHALLENGER_ALIAS = "challenger"
METADATA_FILE = "registered_model.json"
ONNX_FILE = "model.onnx"
GATE_FILE = "onnx_gate.json"  # the gate's figures for a registered version's graph
# rows of features (``Columns.array``) -> scores: probabilities of each class, or values
Route = Callable[[np.ndarray], np.ndarray]
SQLITE_PREFIX = "sqlite:///"  # then the database file's path, absolute or relative
REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


class ModelError(StageError):
    """No model could be loaded (one line: what was tried and why it failed)."""


def _params(settings: Settings) -> Params | None:
    """params.yaml, checked as every stage checks it; ``None`` when absent (an image has none).

    The typed model needs only pydantic and PyYAML, both in the lean image's ``serve`` group.
    """
    return settings.params if settings.params_file.is_file() else None


@dataclass(frozen=True)
class ModelSource:
    """A model directory, or a model URI resolved against a tracking store."""

    directory: Path | None
    uri: str
    tracking_uri: str
    threshold: float | None  # binary only: the decision threshold

    @classmethod
    def from_env(
        cls,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        challenger: bool = False,
    ) -> ModelSource:
        """Read ``MODEL_DIR``, ``MODEL_URI`` and ``MLFLOW_TRACKING_URI`` (see the docstring);
        the ``challenger``'s: ``CHALLENGER_MODEL_DIR``, else ``CHALLENGER_MODEL_URI``, by
        default the registered model's ``challenger`` alias."""
        env = os.environ if environ is None else environ
        params = _params(settings)
        alias, threshold, configured = (
            (DEFAULT_ALIAS, DEFAULT_THRESHOLD, "")
            if params is None
            else (
                params.evaluate.alias,
                params.evaluate.threshold,
                params.mlflow.tracking_uri,
            )
        )
        prefix = CHALLENGER_PREFIX if challenger else ""
        alias = CHALLENGER_ALIAS if challenger else alias
        directory = env.get(prefix + MODEL_DIR_ENV, "").strip()
        default_uri = f"models:/{tracking.REGISTERED_MODEL_NAME}@{alias}"
        return cls(
            directory=Path(directory).expanduser().resolve() if directory else None,
            uri=env.get(prefix + MODEL_URI_ENV, "").strip() or default_uri,
            tracking_uri=tracking.resolve_tracking_uri(settings.root, configured, env),
            threshold=(threshold or DEFAULT_THRESHOLD) if ANSWERS.name == "binary" else None,
        )

    def describe(self) -> str:
        """Where the model comes from, for logs and readiness messages."""
        if self.directory is not None:
            return f"directory {self.directory}"
        return f"{self.uri} (tracking store {self.tracking_uri})"


@dataclass(frozen=True)
class LoadedModel:
    """How to score (a route to the scores) and the description of the model."""

    description: ModelDescription
    route: Route
    pipeline: Any = None  # the fitted scikit-learn pipeline; None when ONNX Runtime scores
    fast: bool = False  # whether the pipeline is called on arrays (see ``fastpath.py``)
    quick: bool = False  # a call takes microseconds: no worker thread (see ``batching.py``)

    @classmethod
    def wrap(cls, pipeline: Any, description: ModelDescription) -> LoadedModel:
        """Choose the route once: NumPy when it is exact for this pipeline, else DataFrame."""
        # pylint: disable-next=import-outside-toplevel  # scikit-learn, pandas: this path only
        from .fastpath import dataframe_route, numpy_route

        fast = numpy_route(pipeline)
        route = fast if fast is not None else dataframe_route(pipeline)
        runtime = f"scikit-learn {metadata.version('scikit-learn')}"
        described = description.model_copy(update={"runtime": runtime})
        return cls(described, route, pipeline, fast is not None)

    @classmethod
    def from_onnx(cls, path: Path, description: ModelDescription) -> LoadedModel:
        """One ONNX Runtime session for the exported graph at ``path``."""
        from . import onnx_model  # pylint: disable=import-outside-toplevel  # onnxruntime

        route, runtime = onnx_model.load(path)
        return cls(description.model_copy(update={"runtime": runtime}), route, quick=True)

    def predict(self, rows: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """The labels and scores of the task (``answers.py``) for rows of features (numbers,
        strings, ``None`` when missing; see ``rows.py``)."""
        return ANSWERS.decide(self.route(COLUMNS.array(rows)), self.description.threshold)


def _first_line(error: Exception) -> str:
    """MLflow's message (often several lines) cut to its first line."""
    message = str(getattr(error, "message", None) or error).strip()
    return message.splitlines()[0] if message else type(error).__name__


def require_store(source: ModelSource) -> None:
    """Refuse a SQLite tracking store that does not exist: MLflow would create an empty one
    (and its directories) and then say that it holds no such model."""
    if not source.tracking_uri.startswith(SQLITE_PREFIX):
        return
    path = Path(source.tracking_uri.removeprefix(SQLITE_PREFIX))
    if not path.is_file():
        raise ModelError(
            f"cannot load the model from {source.describe()}: {path} does not exist "
            "(`make repro` creates it, or set MLFLOW_TRACKING_URI)"
        )


# MLflow retries a tracking server's requests 7 times with exponential back-off (about four
# minutes when the server is down); a service that waits for its model gives up sooner. Your
# environment's values win.
HTTP_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


def resolve(source: ModelSource) -> ModelDescription:
    """Pin a registry URI to a version (an alias may move while the service runs)."""
    from mlflow import MlflowClient  # pylint: disable=import-outside-toplevel  # slow import

    require_store(source)
    for name, value in HTTP_RETRIES.items():
        os.environ.setdefault(name, value)
    match = REGISTRY_URI.match(source.uri)
    if match is None:
        return ModelDescription(uri=source.uri, threshold=source.threshold)
    client = MlflowClient(source.tracking_uri)
    name = match["name"]
    if match["alias"]:
        version = client.get_model_version_by_alias(name, match["alias"])
    else:
        version = client.get_model_version(name, match["version"])
    return ModelDescription(
        name=name,
        version=str(version.version),
        run_id=version.run_id,
        uri=f"models:/{name}/{version.version}",
        threshold=source.threshold,
    )


def read_metadata(directory: Path, threshold: float | None) -> ModelDescription:
    """What ``export-model`` recorded beside the model, or just the directory.

    The file also holds the ONNX exactness gate's figures (``onnx``), which describe the
    export, not the model, and are left out here. A plain MLflow model directory has no such
    file (a registered version's download has ``onnx_gate.json`` instead, when it carries a
    graph); an export always has one, so an ONNX graph with neither is a damaged export:
    served, it would classify at params.yaml's threshold (or the default) rather than the
    exported one, without a word.
    """
    path = directory / METADATA_FILE
    if not path.is_file():
        if (directory / ONNX_FILE).is_file() and not (directory / GATE_FILE).is_file():
            raise ModelError(
                f"directory {directory} holds {ONNX_FILE} but no {METADATA_FILE} "
                "(an incomplete export): run `make export-model` again"
            )
        return ModelDescription(uri=directory.as_uri(), threshold=threshold)
    recorded = json.loads(path.read_text(encoding="utf-8"))
    recorded.pop("onnx", None)
    return ModelDescription.model_validate(recorded)


def load_sklearn(uri: str, description: ModelDescription, where: str) -> LoadedModel:
    """The scikit-learn pipeline at ``uri``, loaded with MLflow, if it gives the task's scores
    (a classifier's probabilities, a regressor's values)."""
    import mlflow.sklearn  # pylint: disable=import-outside-toplevel  # slow import
    from mlflow.exceptions import MlflowException  # pylint: disable=import-outside-toplevel

    try:
        pipeline = mlflow.sklearn.load_model(uri)
    except (MlflowException, OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        # A missing, truncated or foreign model file: a damaged MODEL_DIR, not a bug.
        raise ModelError(f"cannot load the model from {where}: {_first_line(error)}") from None
    if not hasattr(pipeline, ANSWERS.method):
        raise ModelError(f"the model from {where} has no {ANSWERS.method}")
    return LoadedModel.wrap(pipeline, description)


def scoring_graph(directory: Path) -> Path | None:
    """The ONNX graph to score with, if any: an export's (written only once its gate passed),
    or a registered version's whose gate passed at registration (``onnx_gate.json``)."""
    graph = directory / ONNX_FILE
    if not graph.is_file():
        return None
    if (directory / METADATA_FILE).is_file():
        return graph
    figures = directory / GATE_FILE
    passed = figures.is_file() and json.loads(figures.read_text(encoding="utf-8")).get("exported")
    return graph if passed is True else None


def load_files(directory: Path, description: ModelDescription, where: str) -> LoadedModel:
    """The model in ``directory``: its checked ONNX graph when it has one, else scikit-learn's."""
    try:
        graph = scoring_graph(directory)
        if graph is not None:
            return LoadedModel.from_onnx(graph, description)
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot load the model from {where}: {_first_line(error)}") from None
    return load_sklearn(str(directory), description, where)


def load_directory(directory: Path, threshold: float | None) -> LoadedModel:
    """An exported model (or any MLflow model directory) with its description."""
    where = f"directory {directory}"
    if not (directory / "MLmodel").is_file():
        raise ModelError(
            f"{directory} is not an MLflow model directory (no MLmodel file); "
            "run `make export-model` or unset MODEL_DIR"
        )
    try:
        description = read_metadata(directory, threshold)
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot load the model from {where}: {_first_line(error)}") from None
    return load_files(directory, description, where)


def load_registered(description: ModelDescription, where: str) -> LoadedModel:
    """The model that ``description.uri`` names, downloaded once into a scratch directory.

    ONNX Runtime reads its graph, and scikit-learn its pipeline, into memory while loading:
    the directory is removed as soon as the model is loaded.
    """
    import mlflow.artifacts  # pylint: disable=import-outside-toplevel  # slow import
    from mlflow.exceptions import MlflowException  # pylint: disable=import-outside-toplevel

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a log, not a tty
    with tempfile.TemporaryDirectory(prefix="registered-model-") as scratch:
        try:
            downloaded = mlflow.artifacts.download_artifacts(description.uri, dst_path=scratch)
        except (MlflowException, OSError) as error:
            raise ModelError(f"cannot load the model from {where}: {_first_line(error)}") from None
        return load_files(Path(downloaded), description, where)


def load(source: ModelSource) -> LoadedModel:
    """Load the model once; raise :class:`ModelError` (one line) when that is impossible."""
    if source.directory is not None:
        return load_directory(source.directory, source.threshold)
    import mlflow  # pylint: disable=import-outside-toplevel  # slow import
    from mlflow.exceptions import MlflowException  # pylint: disable=import-outside-toplevel

    mlflow.set_tracking_uri(source.tracking_uri)
    try:
        description = resolve(source)
    except (MlflowException, OSError, ValueError) as error:
        raise ModelError(
            f"cannot load the model from {source.describe()}: {_first_line(error)}"
        ) from None
    return load_registered(description, source.describe())
