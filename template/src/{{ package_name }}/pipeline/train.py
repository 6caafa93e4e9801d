"""Stage 3, train: fit the model on the training split and log everything to MLflow.

The model is a scikit-learn pipeline: numeric features standardised, categorical codes one-hot
encoded (codes unseen in training are ignored), then the estimator named by ``train.model``
in params.yaml, for the contract's task (:mod:`..core.tasks`: a classifier or a regressor),
with its hyperparameters. Training metrics are cross-validated on seeded folds (stratified
for a classifier). The stage saves ``models/model.joblib`` and logs to MLflow the parameters,
the metrics, the training data set (with its digest), the raw data's DVC md5 and the git
commit as tags, and the model with its signature; ``models/run.json`` records the run id and
the model URI for the evaluate stage.
"""

from __future__ import annotations

import json
import logging
import warnings
from importlib.metadata import version
from typing import Any

import joblib
import mlflow
import mlflow.sklearn
import pandas as pd
import yaml
from mlflow.data.dataset_source_registry import get_dataset_source_from_json
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .. import tracking
from ..cli import stage_main
from ..core.frames import model_input, read_rows
from ..core.schema import (
    CATEGORICAL_FEATURES,
    ID,
    MAY_BE_MISSING,
    NUMERIC_FEATURES,
    TARGET,
)
from ..core.tasks import TASK, Task
from ..errors import StageError
from ..files import atomic_output, write_text
from ..params import Params, TrainParams
from ..settings import Settings

LOG = logging.getLogger(__name__)
# Types beyond skops' defaults that a model holds; trusted because this stage creates the model.
# numpy.dtype: what the imputers and encoders keep of columns of words.
SKOPS_TRUSTED_TYPES = {
    "random_forest": ["sklearn.tree._tree.Tree"],
    "hist_gradient_boosting": [
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfMultinomialLoss",
        "sklearn._loss._loss.CyHalfSquaredError",
        "sklearn.ensemble._hist_gradient_boosting.common.PREDICTOR_RECORD_DTYPE",
    ],
}
SKOPS_TRUSTED_FOR_ALL = ["numpy.dtype"]
SIGNATURE_ROWS = 10_000
# Pinned in the logged model's requirements: MLflow would otherwise spend seconds guessing them.
MODEL_REQUIREMENTS = ("scikit-learn", "numpy", "pandas", "scipy", "skops")


def preprocessing() -> ColumnTransformer:
    """Scale numbers and one-hot encode categories (words or codes; unseen ones are ignored),
    imputing first in the features the contract lets be missing. Groups without columns are
    left out, so the starter project's model is the two plain groups."""
    numeric = [name for name in NUMERIC_FEATURES if name not in MAY_BE_MISSING]
    categorical = [name for name in CATEGORICAL_FEATURES if name not in MAY_BE_MISSING]
    # Numbers first: the ONNX graph then concatenates doubles before the encoders' floats.
    groups: list[tuple[str, Any, list[str]]] = [
        ("numeric", StandardScaler(), numeric),
        (
            "numeric_missing",
            Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
            [name for name in NUMERIC_FEATURES if name in MAY_BE_MISSING],
        ),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        (
            "categorical_missing",
            Pipeline(
                [
                    ("impute", SimpleImputer(strategy="most_frequent")),
                    ("encode", OneHotEncoder(handle_unknown="ignore")),
                ]
            ),
            [name for name in CATEGORICAL_FEATURES if name in MAY_BE_MISSING],
        ),
    ]
    return ColumnTransformer([group for group in groups if group[2]])


def build_pipeline(params: TrainParams, task: Task = TASK) -> Pipeline:
    """Preprocessing and the task's estimator, seeded: a given seed gives the same model.
    (The step keeps its name ``classifier`` for a regressor too: logged models rely on it.)"""
    task.check_model(params.model)
    preprocess = preprocessing()
    estimator = task.models[params.model](random_state=params.seed, **params.hyperparameters)
    return Pipeline([("preprocess", preprocess), ("classifier", estimator)])


def cross_validated_metrics(
    pipeline: Pipeline,
    features: pd.DataFrame,
    target: pd.Series,
    params: TrainParams,
    task: Task = TASK,
) -> dict[str, float]:
    """Mean and standard deviation of each of the task's scores over seeded folds (a loss
    or an error is reported as itself, not as scikit-learn's negated scorer)."""
    folds = task.folds(params.cv_folds, params.seed)
    scoring = dict(task.cv_scoring)
    scores = cross_validate(pipeline, features, target, cv=folds, scoring=scoring)
    metrics: dict[str, float] = {}
    for name, scorer in scoring.items():
        values = scores[f"test_{name}"] * (-1 if scorer.startswith("neg_") else 1)
        metrics[f"cv_{name}_mean"] = float(values.mean())
        metrics[f"cv_{name}_std"] = float(values.std())
    return metrics


def read_training_data(settings: Settings) -> pd.DataFrame:
    """The validated training split."""
    if not settings.train_csv.is_file():
        raise StageError(f"{settings.relative(settings.train_csv)} not found: run prepare first")
    return read_rows(settings.train_csv)


def raw_data_md5(settings: Settings) -> str:
    """The md5 DVC recorded for the raw data (``heart.csv.dvc``), or ``untracked``."""
    dvc_file = settings.raw_csv.with_name(settings.raw_csv.name + ".dvc")
    try:
        outs = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))["outs"]
        return str(outs[0]["md5"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return "untracked"


def log_run(
    settings: Settings,
    params: TrainParams,
    pipeline: Pipeline,
    data: pd.DataFrame,
    metrics: dict[str, float],
) -> dict[str, str]:
    """Log parameters, metrics, data set, tags and model to MLflow; return the run's ids."""
    features = model_input(data)
    source = get_dataset_source_from_json(
        json.dumps({"uri": str(settings.train_csv)}), source_type="local"
    )
    dataset = from_pandas(
        data.drop(columns=ID), source=source, name="training-data", targets=TARGET
    )
    hyperparameters = {f"{params.model}.{k}": v for k, v in params.hyperparameters.items()}
    sample = signature_sample(features)
    with mlflow.start_run(run_name=f"train-{params.model}") as run:
        mlflow.log_params(
            {"model": params.model, "seed": params.seed, "cv_folds": params.cv_folds}
            | hyperparameters
        )
        mlflow.log_metrics(metrics)
        with warnings.catch_warnings():
            # MLflow hints that integer columns cannot hold missing values: the integer
            # column here is the label, which is never missing.
            warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
            mlflow.log_input(dataset, context="training")
        mlflow.set_tags(
            {
                "data.raw_md5": raw_data_md5(settings),
                "data.train_rows": str(len(data)),
                "git.commit": tracking.git_commit(settings.root),
                "pipeline.stage": "train",
            }
        )
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(sample, TASK.model_output(pipeline, sample)),
            input_example=features.head(5),
            pyfunc_predict_fn=TASK.pyfunc_predict_fn,
            # skops loads only allow-listed types, unlike (cloud)pickle; recent MLflow's default.
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_FOR_ALL + SKOPS_TRUSTED_TYPES.get(params.model, []),
            pip_requirements=[f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS],
        )
    return {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "model_id": str(info.model_id),
        "model_uri": info.model_uri,
    }


def signature_sample(features: pd.DataFrame, rows: int = SIGNATURE_ROWS) -> pd.DataFrame:
    """The rows MLflow infers the model's signature from: the first ``rows`` and, so that a
    column with gaps is seen with one, up to ``rows`` with gaps (on a million rows the whole
    frame took 26 s for the same signature, the sample 0.4 s)."""
    if len(features) <= rows:
        return features
    gaps = features[features.isna().any(axis=1)].head(rows)
    return pd.concat([features.head(rows), gaps])


def train(settings: Settings, params: Params) -> dict[str, str]:
    """Run the stage: fit, cross-validate, save the model and log the run."""
    data = read_training_data(settings)
    features, target = model_input(data), data[TARGET]
    pipeline = build_pipeline(params.train)
    metrics = cross_validated_metrics(pipeline, features, target, params.train)
    pipeline.fit(features, target)
    with atomic_output(settings.model) as partial:
        joblib.dump(pipeline, partial)
    uri = tracking.configure(settings.root, params.mlflow.tracking_uri)
    run = log_run(settings, params.train, pipeline, data, metrics)
    write_text(settings.run_info, json.dumps(run, indent=2) + "\n")
    first = next(iter(TASK.cv_scoring))
    LOG.info(
        "%s on %d rows: cross-validated %s %.3f ± %.3f; run %s logged to %s",
        params.train.model,
        len(data),
        first,
        metrics[f"cv_{first}_mean"],
        metrics[f"cv_{first}_std"],
        run["run_id"],
        uri,
    )
    return run


def main(argv: list[str] | None = None) -> int:
    """The stage's command line (no options but ``--verbose``); returns the exit status."""
    return stage_main("train", __doc__, argv, train)


if __name__ == "__main__":
    raise SystemExit(main())
