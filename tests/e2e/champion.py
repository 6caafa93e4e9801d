"""The service of a project made from a table, checked against its champion through MLflow."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_serve import _service
from tests.support import answered, run

# The held-back rows as the service takes them, and the champion's answers through MLflow's
# own loader: a classifier's probabilities per class, a regressor's values.
CHAMPION_PROBE = """
import json, sys
import mlflow.sklearn
from {package}.core.frames import model_input, read_rows
from {package}.core.tasks import TASK
rows = model_input(read_rows(sys.argv[1]))
model = mlflow.sklearn.load_model("models:/{name}@champion")
records = json.loads(rows.to_json(orient="records", force_ascii=False))
print(json.dumps({{"records": records, "answers": TASK.model_output(model, rows).tolist()}}))
"""


def served_answers(task: str, answer: dict) -> list:
    """The service's answers as the champion's pyfunc gives them."""
    predictions = answer["predictions"]
    if task == "regression":
        return [p["prediction"] for p in predictions]
    if task == "multiclass":
        return [list(p["probabilities"].values()) for p in predictions]
    return [[1 - p["probability"], p["probability"]] for p in predictions]


def _flat(answers: list) -> list[float]:
    """One number per value: rows of probabilities laid end to end (approx compares flat)."""
    return [value for row in answers for value in (row if isinstance(row, list) else [row])]


def assert_service_answers_like_the_champion(project: Path, task: str) -> None:
    """`make export-model`, then the exported and the registry-loaded service both answer the
    held-back rows as the registered champion does (within the export gate's tolerance)."""
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    name = answered(project, "project_slug")  # the registered model's name
    probe = CHAMPION_PROBE.format(package=answered(project, "package_name"), name=name)
    held_back = project / "data" / "processed" / "test_features.csv"
    out = run([project / ".venv/bin/python", "-c", probe, held_back], cwd=project, env=env)
    expected = json.loads(out.stdout.strip().splitlines()[-1])
    run(["make", "export-model"], cwd=project, timeout=600)
    registry = {"MODEL_DIR": "", "MODEL_URI": f"models:/{name}@champion"}
    exported = {"MODEL_DIR": str(project / "models" / "serving")}
    for settings in (exported, {**env, **registry}):
        with _service(project, settings) as service:
            status, answer = service.post("/predict", {"records": expected["records"]})
            assert status == 200, answer
            served = _flat(served_answers(task, answer))
            assert served == pytest.approx(_flat(expected["answers"]), rel=1e-5, abs=1e-5)


def assert_monitor_says_there_is_no_traffic(project: Path) -> None:
    """No prediction log yet: one line and the documented status (1), not a traceback."""
    done = subprocess.run(
        [
            project / ".venv/bin/python",
            "-m",
            f"{answered(project, 'package_name')}.monitoring.monitor",
        ],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "PREDICTION_LOG_DIR"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("monitor: no prediction log"), done.stderr
    assert "Traceback" not in done.stderr
