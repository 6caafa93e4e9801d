"""Models and rows for an experiment in a generated project, made with the project's own code.

Run by the project's Python (the scaffolder has no pandas or MLflow, by design) in the
project's root (its own tracking store):

- ``register permuted|refit``: trains the project's pipeline on ``data/processed/train.csv``,
  its labels permuted (a model that learnt nothing) or as they are (as good as the champion),
  registers it as a new version of the model and prints the version;
- ``champion VERSION``: points the champion alias at VERSION, recorded like every alias move
  (a weak champion for a test); ``reset VERSION`` does so and removes the challenger alias;
- ``rows``: prints every distinct complete row of the raw table as JSON, the record a client
  sends and its true outcome as a label file writes it.
"""

from __future__ import annotations

import json
import math
import sys
from importlib import import_module
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd

PACKAGE = sys.argv[1]


def project(module: str) -> Any:
    """A module of the generated project's package."""
    return import_module(f"{PACKAGE}.{module}")


def register(kind: str) -> None:
    """Register a model fitted to the training labels, permuted or not; print its version."""
    settings = project("settings").Settings()
    params = settings.params
    schema = project("core.schema")
    train = project("core.frames").read_rows(settings.train_csv)
    target = train[schema.TARGET].to_numpy()
    if kind == "permuted":
        target = np.random.default_rng(0).permutation(target)
    features = project("core.frames").model_input(train)
    model = project("pipeline.train").build_pipeline(params.train).fit(features, target)
    tracking = project("tracking")
    tracking.configure(settings.root, params.mlflow.tracking_uri)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=[])
    registered = mlflow.register_model(info.model_uri, tracking.REGISTERED_MODEL_NAME)
    print(registered.version)


def champion(version: str) -> None:
    """Point the champion alias at ``version`` (a weak champion, for a test)."""
    settings = project("settings").Settings()
    tracking = project("tracking")
    tracking.configure(settings.root, settings.params.mlflow.tracking_uri)
    project("pipeline.promotion").move_alias(
        mlflow.MlflowClient(),
        tracking.REGISTERED_MODEL_NAME,
        settings.params.evaluate.alias,
        version,
        command="e2e test: a weak champion",
        verdict="set by the test",
        commit="unknown",
    )


def reset(version: str) -> None:
    """Version ``version`` the champion again, and no challenger (a test's clean-up)."""
    champion(version)
    client = mlflow.MlflowClient()
    name = project("tracking").REGISTERED_MODEL_NAME
    if "challenger" in client.get_registered_model(name).aliases:
        client.delete_registered_model_alias(name, "challenger")


def json_value(value: Any) -> Any:
    """A feature as a client sends it: a string, a number, null when missing."""
    if isinstance(value, str):
        return value
    return None if value is None or math.isnan(value) else float(value)


def actual_text(value: Any) -> str:
    """An outcome as a label file writes it."""
    task = project("core.tasks").TASK
    if task.name == "binary":
        return str(int(value))
    if task.name == "multiclass":
        return str(project("core.schema").CLASSES[int(value)])
    return repr(float(value))


def rows() -> None:
    """Print every distinct complete row of the raw table (the service refuses a gap where the
    contract allows none) as a record to send, and its outcome."""
    settings = project("settings").Settings()
    schema = project("core.schema")
    names = list(schema.FEATURES)
    raw = pd.read_csv(settings.raw_csv).dropna(subset=names).drop_duplicates(subset=names)
    target = project("core.tasks").TASK.label(raw[schema.RAW_TARGET])
    raw, target = raw[target.notna()], target.dropna()
    features = project("core.frames").model_input(raw)
    print(
        json.dumps(
            [
                {"record": {k: json_value(v) for k, v in record.items()}, "actual": actual_text(y)}
                for record, y in zip(features.to_dict("records"), target, strict=True)
            ]
        )
    )


if __name__ == "__main__":
    command, arguments = sys.argv[2], sys.argv[3:]
    if command == "register":
        register(arguments[0])
    elif command == "champion":
        champion(arguments[0])
    elif command == "reset":
        reset(arguments[0])
    else:
        rows()
