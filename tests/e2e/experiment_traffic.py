"""Traffic for an experiment in a generated project, from its real models and its own code.

Run by the project's Python (the scaffolder has no pandas or MLflow, by design), in the
project's root, with ``MLFLOW_TRACKING_URI`` set:

- ``register permuted|refit``: trains the project's pipeline on ``data/processed/train.csv``,
  its labels permuted (a model that learnt nothing) or as they are (as good as the champion),
  registers it as a new version of the model and prints the version;
- ``champion VERSION``: points the champion alias at VERSION, recorded like every alias move
  (a weak champion for a test);
- ``traffic DESIGN CHAMPION CHALLENGER START LOG LABELS``: every distinct row of the raw table,
  one request each, answered by the two registered versions as the service logs them in
  ``ab`` mode (the decided split: ``blake2b`` of the request id, half the buckets to the
  challenger) or ``shadow`` mode, timed a second apart from START; the rows' true outcomes as
  a label file.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd

PACKAGE = sys.argv[1]
SHARE = 0.5
BUCKETS = 10_000


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


def json_value(value: Any) -> Any:
    """A feature as a client sends it: a string, a number, null when missing."""
    if isinstance(value, str):
        return value
    return None if value is None or math.isnan(value) else float(value)


def answers(version: str, features: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row's answer by registered ``version``, as the service logs it."""
    settings = project("settings").Settings()
    task = project("core.tasks").TASK
    name = project("tracking").REGISTERED_MODEL_NAME
    model = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    predictions = task.predict(model, features, settings.params.evaluate.threshold)
    if task.name == "binary":
        return [
            {"prediction": int(label), "probability": float(score)}
            for label, score in zip(predictions.labels, predictions.scores, strict=True)
        ]
    if task.name == "multiclass":
        return [
            {"prediction": int(label), "probabilities": [float(p) for p in scores]}
            for label, scores in zip(predictions.labels, predictions.scores, strict=True)
        ]
    return [{"prediction": float(value)} for value in predictions.labels]


def to_challenger(request_id: str) -> bool:
    """The decided ab split: the first 8 bytes of blake2b(key) modulo 10 000, below the share."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS < round(SHARE * BUCKETS)


def body(request_id: str, version: str, answer: dict[str, Any], variant: str) -> dict[str, Any]:
    """A response body of the service in ab and shadow modes."""
    name = project("tracking").REGISTERED_MODEL_NAME
    return {
        "request_id": request_id,
        "model": {"name": name, "version": version},
        "predictions": [answer],
        "variant": variant,
    }


def actual_text(value: Any) -> str:
    """An outcome as a label file writes it."""
    task = project("core.tasks").TASK
    if task.name == "binary":
        return str(int(value))
    if task.name == "multiclass":
        return str(project("core.schema").CLASSES[int(value)])
    return repr(float(value))


def traffic(  # pylint: disable=too-many-arguments,too-many-locals
    design: str, first: str, second: str, start: str, log: Path, labels: Path
) -> None:
    """Log every distinct raw row once as a request, and write their outcomes."""
    settings = project("settings").Settings()
    schema = project("core.schema")
    raw = pd.read_csv(settings.raw_csv).drop_duplicates(subset=list(schema.FEATURES))
    target = project("core.tasks").TASK.label(raw[schema.RAW_TARGET])
    raw, target = raw[target.notna()], target.dropna()
    features = project("core.frames").model_input(raw)
    by = {"champion": answers(first, features), "challenger": answers(second, features)}
    versions = {"champion": first, "challenger": second}
    moment = datetime.fromisoformat(start)
    lines, outcomes = [], ["request_id,actual"]
    for row, (record, actual) in enumerate(zip(features.to_dict("records"), target, strict=True)):
        request_id = f"{start[:19].replace(':', '')}-{row:04d}"
        variant = "challenger" if design == "ab" and to_challenger(request_id) else "champion"
        line = {
            "time": (moment + timedelta(seconds=row)).isoformat(),
            "request": {"records": [{k: json_value(v) for k, v in record.items()}]},
            "response": body(request_id, versions[variant], by[variant][row], variant),
        }
        if design == "shadow":
            line["shadow"] = body(request_id, second, by["challenger"][row], "challenger")
        lines.append(json.dumps(line) + "\n")
        outcomes.append(f"{request_id},{actual_text(actual)}")
    log.mkdir(parents=True, exist_ok=True)
    (log / f"predictions-{start[:19].replace(':', '')}.jsonl").write_text("".join(lines), "utf-8")
    labels.write_text("\n".join(outcomes) + "\n", "utf-8")


if __name__ == "__main__":
    command, arguments = sys.argv[2], sys.argv[3:]
    if command == "register":
        register(arguments[0])
    elif command == "champion":
        champion(arguments[0])
    else:
        traffic(*arguments[:4], Path(arguments[4]), Path(arguments[5]))
