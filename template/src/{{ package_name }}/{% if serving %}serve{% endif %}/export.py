"""Copy the champion model out of the MLflow registry into a directory, for serving.

Usage, from the project root::

    python -m <package>.serve.export [--output models/serving] [--model-uri URI]

The directory is a complete MLflow model (``MLmodel``, the skops file, its environment) plus
``registered_model.json``: the registered name, version, run and the decision threshold, so
that a service started with ``MODEL_DIR`` reports which version it serves. A container image
built from it needs neither the tracking store nor the network. The previous export is replaced
only once the new one is complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..cli import make_parser, parse_args, run_stage
from ..errors import StageError
from ..paths import find_project_root
from .model import (
    METADATA_FILE,
    MODEL_URI_ENV,
    REGISTRY_URI,
    ModelSource,
    resolve,
)
from .payloads import ModelDescription

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


def export(source: ModelSource, output: Path) -> ModelDescription:
    """Download the registered model that ``source.uri`` names into ``output``."""
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
        (staging / METADATA_FILE).write_text(
            description.model_dump_json(indent=2) + "\n", encoding="utf-8"
        )
        replace_directory(staging, output)
    except MlflowException as error:
        raise StageError(f"cannot export {source.uri}: {error.message.splitlines()[0]}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    LOG.info("%s (version %s) exported to %s", description.uri, description.version, output)
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
        root = find_project_root()
        source = ModelSource.from_env(root)
        if args.model_uri:
            source = ModelSource(None, args.model_uri, source.tracking_uri, source.threshold)
        export(source, args.output)

    return run_stage("export-model", body)


if __name__ == "__main__":
    raise SystemExit(main())
