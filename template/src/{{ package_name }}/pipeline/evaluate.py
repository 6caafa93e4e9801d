"""Stage 4, evaluate: score the model on the held-back test set, register it, apply the gate.

Writes ``reports/metrics.json`` (``dvc metrics show``) with the task's scores
(:mod:`..core.tasks`) and its plots in ``reports/plots/`` (``dvc plots show``: a classifier's
confusion matrix, a binary one's ROC curve, a regressor's predicted against actual values), and
logs the test metrics to the training run in MLflow. The model is then registered as a new
version and the promotion gate (``promotion.py``) decides whether it takes the ``champion``
alias (each gate metric knows whether higher or lower is better); ``reports/promotion.json``
says what happened. In a project with the serving feature, the model's ONNX graph is checked on
the test set first and, when exact, registered with it, for the service to score with
(``serve/registration.py``)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from typing import Any

import joblib
import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .. import tracking
from ..cli import stage_main
from ..core.frames import model_input, read_rows
from ..core.schema import (
    ID,
    TARGET,
)
from ..core.tasks import TASK, Predictions
from ..errors import StageError
from ..files import write_text
from ..params import Params
from ..settings import Settings
from .promotion import (
    Candidate,
    GateResult,
    run_gate,
)

LOG = logging.getLogger(__name__)
# The serving feature's package, relative to this one: a project made without it has none.
SERVING = "..serve"


def read_run_info(settings: Settings) -> dict[str, str]:
    """``models/run.json`` from the train stage: the MLflow run and the logged model."""
    label = settings.relative(settings.run_info)
    try:
        run_info: dict[str, str] = json.loads(settings.run_info.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageError(f"{label} not found: run the train stage first") from None
    except json.JSONDecodeError as error:
        raise StageError(f"{label} is not valid JSON: {error}") from None
    missing = [key for key in ("run_id", "model_uri") if not run_info.get(key)]
    if missing:
        raise StageError(f"{label} lacks {', '.join(missing)}: rerun the train stage")
    return run_info


def read_test_set(settings: Settings) -> pd.DataFrame:
    """Test features joined with the held-back actuals on ``id`` (every row must match)."""
    for path in (settings.test_features_csv, settings.test_labels_csv):
        if not path.is_file():
            raise StageError(f"{settings.relative(path)} not found: run prepare first")
    features = read_rows(settings.test_features_csv)
    labels = read_rows(settings.test_labels_csv)
    joined = features.merge(labels, on=ID, how="inner", validate="one_to_one")
    if len(joined) != len(features) or len(joined) != len(labels):
        raise StageError("test features and labels do not match one to one on id")
    return joined


def write_reports(
    settings: Settings, test: pd.DataFrame, predictions: Predictions, metrics: dict[str, Any]
) -> None:
    """metrics.json and the task's plot files, for DVC."""
    write_text(settings.metrics, json.dumps(metrics, indent=2) + "\n")
    for name, text in TASK.plots(test[TARGET].to_numpy(), predictions).items():
        write_text(settings.plots / name, text)


def add_onnx_graph(
    client: MlflowClient,
    model_id: str | None,
    model: Any,
    test: pd.DataFrame,
    threshold: float | None,
) -> None:
    """With the serving feature, the ONNX graph joins the logged model if it is exact on the test
    set (``serve/registration.py``); without it, nothing to do. Imported by name, so that this
    module reads the same in projects with and without the feature."""
    if importlib.util.find_spec(SERVING, __package__) is None:
        return
    registration = importlib.import_module(f"{SERVING}.registration", __package__)
    registration.attach(client, model_id, model, model_input(test), threshold)


def evaluate(settings: Settings, params: Params) -> GateResult:
    """Run the stage: test metrics, reports, MLflow logging, registration and the gate."""
    gate = params.evaluate
    TASK.check_metric(gate.metric)
    TASK.check_threshold(gate.threshold)
    run_info = read_run_info(settings)
    test = read_test_set(settings)
    if not settings.model.is_file():
        raise StageError(f"{settings.relative(settings.model)} not found: run train first")
    model = joblib.load(settings.model)
    predictions = TASK.predict(model, model_input(test), gate.threshold)
    metrics = TASK.metrics(test[TARGET], predictions)
    write_reports(settings, test, predictions, metrics)
    LOG.info("held-back test set, %s", TASK.summary(metrics))

    def score(model_uri: str) -> float:
        champion = mlflow.sklearn.load_model(model_uri)
        answers = TASK.predict(champion, model_input(test), gate.threshold)
        return float(TASK.metrics(test[TARGET], answers)[gate.metric])

    tracking.configure(settings.root, params.mlflow.tracking_uri)
    try:
        # The gate runs within the training run: if it is stopped, the run is marked FAILED.
        with mlflow.start_run(run_id=run_info["run_id"]):
            mlflow.log_metrics(
                {
                    f"test_{name}": float(value)
                    for name, value in metrics.items()
                    if isinstance(value, (int, float))
                }
            )
            client = MlflowClient()
            add_onnx_graph(client, run_info.get("model_id"), model, test, gate.threshold)
            result = run_gate(
                client,
                name=tracking.REGISTERED_MODEL_NAME,
                alias=gate.alias,
                metric=gate.metric,
                higher_is_better=TASK.gate_metrics[gate.metric],
                min_improvement=gate.min_improvement,
                candidate=Candidate(
                    model_uri=run_info["model_uri"],
                    model_id=run_info.get("model_id"),
                    run_id=run_info["run_id"],
                    value=metrics[gate.metric],
                ),
                score=score,
                commit=tracking.git_commit(settings.root),
                challenger_on_reject=gate.challenger_on_reject,
            )
    except MlflowException as error:
        raise StageError(
            f"MLflow: {error} (is the tracking store the one train logged to? "
            "`dvc repro -f train` logs a fresh run)"
        ) from None
    write_text(settings.promotion_report, json.dumps(result.as_dict(), indent=2) + "\n")
    LOG.info(
        "registered %s version %s; %s; '%s' is version %s",
        result.registered_model,
        result.candidate.version,
        result.decision.reason,
        result.alias,
        result.alias_version,
    )
    if result.challenger:
        LOG.info(
            "version %s is the challenger (evaluate.challenger_on_reject): make ab-report "
            "compares it with the champion on production traffic",
            result.candidate.version,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    """The stage's command line (no options but ``--verbose``); returns the exit status."""
    return stage_main("evaluate", __doc__, argv, evaluate)


if __name__ == "__main__":
    raise SystemExit(main())
