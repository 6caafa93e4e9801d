"""Score a CSV file of rows with the champion model (batch prediction).

Usage, from the project root::

    python -m <package>.pipeline.predict --input IN.csv --output OUT.csv
        [--model-uri URI]

The input holds the contract's feature columns (other columns are ignored) and, optionally,
the id; its rows are checked with the training data's schema first. The output has one row
per input row: the id (the input's, else the data row number from 1) and the task's answer
(:mod:`..core.tasks`): binary, ``prediction`` (1 = the positive class, from
``evaluate.threshold`` in params.yaml) and ``probability`` of the positive class; multiclass,
``prediction`` (the class's position in the contract) and ``probability_<position>`` of each
class; regression, the predicted value as ``prediction``. The model
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
from ..core.checks import (
    features_schema,
    find_problems,
)
from ..core.frames import model_input, read_rows
from ..core.schema import (
    ID,
)
from ..core.tasks import TASK
from ..errors import StageError
from ..params import DEFAULT_ALIAS
from ..settings import Settings

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


def predict(frame: pd.DataFrame, model: Any, threshold: float | None = None) -> pd.DataFrame:
    """The id and the task's answer columns for every row of ``frame`` (floats to 6 places)."""
    answers = TASK.predict(model, model_input(frame), threshold)
    ids = frame[ID] if ID in frame else pd.Series(range(1, len(frame) + 1))
    return pd.DataFrame({ID: ids.to_numpy(), **TASK.prediction_columns(answers)}).round(6)


def run(input_path: Path, output_path: Path, model_uri: str | None) -> pd.DataFrame:
    """Score ``input_path`` into ``output_path`` with ``model_uri`` (default: the champion)."""
    settings = Settings()
    # Without params.yaml (e.g. an installed wheel): the default store, alias and threshold.
    alias, threshold, configured = DEFAULT_ALIAS, None, ""
    if settings.params_file.is_file():
        params = settings.params
        alias, threshold = params.evaluate.alias, params.evaluate.threshold
        configured = params.mlflow.tracking_uri
    tracking.configure(settings.root, configured)
    uri = model_uri or f"models:/{tracking.REGISTERED_MODEL_NAME}@{alias}"
    frame = read_input(input_path)
    scored = predict(frame, load_model(uri), threshold)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(output_path, index=False)
    LOG.info(
        "%d rows of %s scored with %s; written to %s", len(scored), input_path, uri, output_path
    )
    return scored


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument("--input", required=True, type=Path, help="CSV file of rows to score")
    parser.add_argument("--output", required=True, type=Path, help="CSV file to write")
    parser.add_argument(
        "--model-uri",
        help=f"MLflow model URI (default: models:/{tracking.REGISTERED_MODEL_NAME}@<alias>)",
    )
    args = parse_args(parser, argv)
    return run_stage("predict", lambda: run(args.input, args.output, args.model_uri))


if __name__ == "__main__":
    raise SystemExit(main())
