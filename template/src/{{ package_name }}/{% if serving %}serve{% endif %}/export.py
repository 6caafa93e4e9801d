"""Copy the champion model out of the MLflow registry into a directory, for serving.

Usage, from the project root::

    python -m <package>.serve.export [--output models/serving] [--model-uri URI]

The directory is a complete MLflow model (``MLmodel``, the skops file, its environment) plus
``registered_model.json``: the registered name, version, run and the decision threshold, so
that a service started with ``MODEL_DIR`` reports which version it serves. A container image
built from it needs neither the tracking store nor the network. The previous export is replaced
only once the new one is complete.

The pipeline is also converted to ``model.onnx``, which the service scores with ONNX Runtime,
when it passes the exactness gate on the held-back rows (``onnx_export.py``); the gate's figures
go to ``registered_model.json`` under ``onnx``. When it fails, one warning says why and the
service scores with scikit-learn. The registry keeps the scikit-learn model, the source of truth;
a graph that the version carries from its registration (``registration.py``) is dropped first:
the export decides on its own held-back rows.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..cli import make_parser, parse_args, run_stage
from ..core.messages import ModelDescription
from ..errors import StageError
from ..settings import Settings
from .model import (
    GATE_FILE,
    METADATA_FILE,
    MODEL_URI_ENV,
    ONNX_FILE,
    REGISTRY_URI,
    ModelSource,
    resolve,
)
from .onnx_export import TOLERANCE, OnnxGate, gate

LOG = logging.getLogger(__name__)
DEFAULT_OUTPUT = Path("models") / "serving"


def replace_directory(new: Path, target: Path) -> None:
    """Put ``new`` in the place of ``target`` (which may not exist) with two renames."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def add_onnx(
    directory: Path, held_back: Path, threshold: float | None, tolerance: float = TOLERANCE
) -> OnnxGate:
    """Write ``model.onnx`` beside the model in ``directory`` if it passes the gate, in place of
    any graph the registered version carries (with its figures)."""
    # pylint: disable=import-outside-toplevel  # slow imports
    import mlflow.sklearn

    from ..core.frames import model_input, read_rows  # pandas

    for carried in (ONNX_FILE, GATE_FILE):
        (directory / carried).unlink(missing_ok=True)
    if held_back.is_file():
        rows = model_input(read_rows(held_back))  # words as words, NaN where missing
        pipeline = mlflow.sklearn.load_model(str(directory))
        result, graph = gate(pipeline, rows, threshold, tolerance)
    else:
        reason = f"no held-back rows to check it on ({held_back} is missing: run `make repro`)"
        result, graph = OnnxGate(False, reason, threshold=threshold, tolerance=tolerance), None
    if graph is not None:
        (directory / ONNX_FILE).write_bytes(graph)
    else:
        LOG.warning("no %s, the service will score with scikit-learn: %s", ONNX_FILE, result.reason)
    return result


def export(
    source: ModelSource, output: Path, held_back: Path, tolerance: float = TOLERANCE
) -> ModelDescription:
    """Download the registered model that ``source.uri`` names into ``output``, with its ONNX
    graph if that passes the exactness gate on the ``held_back`` rows (a CSV of features)."""
    import mlflow  # pylint: disable=import-outside-toplevel  # slow import
    from mlflow.exceptions import MlflowException  # pylint: disable=import-outside-toplevel

    if REGISTRY_URI.match(source.uri) is None:
        raise StageError(f"{source.uri} is not a registered model (models:/NAME@ALIAS or /VERSION)")
    mlflow.set_tracking_uri(source.tracking_uri)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        description = resolve(source)
        mlflow.artifacts.download_artifacts(artifact_uri=description.uri, dst_path=str(staging))
        if not (staging / "MLmodel").is_file():
            raise StageError(f"{description.uri} holds no MLmodel file")
        result = add_onnx(staging, held_back, description.threshold, tolerance)
        metadata: dict[str, Any] = description.model_dump(mode="json", exclude={"runtime"})
        metadata["onnx"] = result.as_dict()
        (staging / METADATA_FILE).write_text(
            json.dumps(metadata, indent=2) + "\n", encoding="utf-8"
        )
        replace_directory(staging, output)
    except MlflowException as error:
        raise StageError(f"cannot export {source.uri}: {error.message.splitlines()[0]}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    LOG.info(
        "%s (version %s) exported to %s, scored with %s",
        description.uri,
        description.version,
        output,
        "ONNX Runtime" if result.exported else "scikit-learn",
    )
    return description


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"directory (default {DEFAULT_OUTPUT})"
    )
    parser.add_argument("--model-uri", help=f"registered model URI (default: ${MODEL_URI_ENV})")
    args = parse_args(parser, argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a log, not a tty

    def body() -> None:
        settings = Settings()
        source = ModelSource.from_env(settings)
        if args.model_uri:
            source = ModelSource(None, args.model_uri, source.tracking_uri, source.threshold)
        export(source, args.output, settings.test_features_csv)

    return run_stage("export-model", body)


if __name__ == "__main__":
    raise SystemExit(main())
