"""Score a CSV file of patients with the champion model (batch prediction).

Usage, from the project root::

    python -m <package>.pipeline.predict --input IN.csv --output OUT.csv
        [--model-uri URI]

The input holds the 13 feature columns (other columns are ignored) and, optionally, ``id``;
its rows are checked with the training data's schema first. The output has one row per input
row: ``id`` (the input's, else the data row number from 1), ``prediction`` (1 = heart disease,
from ``evaluate.threshold`` in params.yaml) and ``probability`` of heart disease. The model
comes from the MLflow registry (see ``tracking.py``): by default the version that holds the
``evaluate.alias`` alias (``champion``) of the registered model named after the project.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException

from .. import tracking
from ..cli import make_parser, parse_args, run_stage
from ..config import (
    DEFAULT_ALIAS,
    DEFAULT_THRESHOLD,
    Artifacts,
)
from ..core.checks import (
    features_schema,
    find_problems,
)
from ..core.decision import classify
from ..core.frames import model_input, read_rows
from ..core.schema import (
    ID,
)
from ..errors import StageError
from ..params import read_params

LOG = logging.getLogger(__name__)


def read_input(path: Path) -> pd.DataFrame:
    """The rows to score, checked against the feature schema."""
    if not path.is_file():
        raise StageError(f"input file not found: {path}")
    frame = read_rows(path)
    problems = find_problems(frame, features_schema(with_id=ID in frame, strict=False))
    if problems:
        raise StageError("\n".join(f"{path}: {problem.describe()}" for problem in problems))
    return frame


def load_model(model_uri: str) -> Any:
    """The scikit-learn pipeline registered at ``model_uri``."""
    try:
        return mlflow.sklearn.load_model(model_uri)
    except (MlflowException, OSError) as error:
        message = getattr(error, "message", str(error))
        raise StageError(
            f"cannot load {model_uri}: {message} "
            "(run `dvc repro` to train, evaluate and promote a model)"
        ) from None


def predict(frame: pd.DataFrame, model: Any, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """``id``, ``prediction`` and ``probability`` for every row of ``frame``."""
    probability = model.predict_proba(model_input(frame))[:, 1]
    ids = frame[ID] if ID in frame else pd.Series(range(1, len(frame) + 1))
    return pd.DataFrame(
        {
            ID: ids.to_numpy(),
            "prediction": classify(probability, threshold),
            "probability": probability.round(6),
        }
    )


def run(input_path: Path, output_path: Path, model_uri: str | None) -> pd.DataFrame:
    """Score ``input_path`` into ``output_path`` with ``model_uri`` (default: the champion)."""
    artifacts = Artifacts.discover()
    # Without params.yaml (e.g. an installed wheel): the default store, alias and threshold.
    alias, threshold, configured = DEFAULT_ALIAS, DEFAULT_THRESHOLD, ""
    if artifacts.params.is_file():
        params = read_params(artifacts.params)
        alias, threshold = params.evaluate.alias, params.evaluate.threshold
        configured = params.mlflow.tracking_uri
    tracking.configure(artifacts.root, configured)
    uri = model_uri or f"models:/{tracking.REGISTERED_MODEL_NAME}@{alias}"
    frame = read_input(input_path)
    scored = predict(frame, load_model(uri), threshold)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(output_path, index=False)
    LOG.info(
        "%d rows of %s scored with %s: %d predicted with heart disease; written to %s",
        len(scored),
        input_path,
        uri,
        int(scored["prediction"].sum()),
        output_path,
    )
    return scored


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument("--input", required=True, type=Path, help="CSV file of patients")
    parser.add_argument("--output", required=True, type=Path, help="CSV file to write")
    parser.add_argument(
        "--model-uri",
        help=f"MLflow model URI (default: models:/{tracking.REGISTERED_MODEL_NAME}@<alias>)",
    )
    args = parse_args(parser, argv)
    return run_stage("predict", lambda: run(args.input, args.output, args.model_uri))


if __name__ == "__main__":
    raise SystemExit(main())
