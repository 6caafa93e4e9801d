"""Airflow in a generated project, for real: `airflow dags test` runs the DAG end to end.

One project with airflow=true: `make install`, then `make airflow-run` (Airflow installed from
uv.lock's `airflow` group, `airflow db migrate` in a temporary AIRFLOW_HOME with SQLite, then
`airflow dags test`). The first run runs every stage and registers the champion; the monitor
finds no prediction log yet and keeps the champion. The second run, with a prediction log of
shifted traffic, finds nothing changed (every stage task ends *skipped*, saying DVC's "didn't
change"), the monitor finds drift (exit code 3) and the retrain branch reruns every stage.
The task states come from Airflow's own database. Then `make airflow-standalone` serves
Airflow's REST API on 127.0.0.1, which gives the DAG to a client holding the admin's token.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import DEFAULT_PACKAGE, free_port, run, scaffold, stop_group

pytestmark = pytest.mark.e2e

DAG_ID = f"{DEFAULT_PACKAGE}_pipeline"
STAGES = ["prepare", "validate", "train", "evaluate"]
MODEL = DEFAULT_PACKAGE.replace("_", "-")
STANDALONE_WITHIN = 240.0  # seconds for the API to give the DAG: ~60 s on 2 busy cores
CHAMPION = """
import sys
from mlflow import MlflowClient
version = MlflowClient(sys.argv[1]).get_model_version_by_alias(sys.argv[2], "champion")
print(version.version)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the Airflow option, installed, its Airflow home a temporary one."""
    root = tmp_path_factory.mktemp("airflow")
    created = scaffold(
        "new", "-q", "proj", "--defaults", "-d", "airflow=true",
        "-d", f"dvc_remote_url={root / 'dvc-remote'}", cwd=root,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    run(["make", "install"], cwd=root / "proj")
    return root / "proj"


def dags_test(project: Path, home: Path, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """`make airflow-run`: its output, and the state of each task of the run it made."""
    done = run(["make", "airflow-run"], cwd=project, env={"AIRFLOW_HOME": str(home), **env})
    output = done.stdout + done.stderr
    finished = re.search(r"DagRun Finished: dag_id=\w+, .*?run_id=([^,]+),.*?state=(\w+)", output)
    assert finished, output[-3000:]
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, finished.group(1)),
        ).fetchall()
    return output, {**dict(rows), "run": finished.group(2)}


def shifted_log(project: Path, directory: Path) -> Path:
    """A day of requests from the held-back rows, 15 years older and with chest pain type 4:
    drift on age and cp, in the service's log format (docs/monitoring.md)."""
    with (project / "data/processed/test_features.csv").open(encoding="utf-8") as handle:
        rows = [
            {k: float(v) for k, v in row.items() if k != "id"} for row in csv.DictReader(handle)
        ]
    now = datetime.now(UTC)
    lines = []
    for number, row in enumerate(rows):
        record = {**row, "age": row["age"] + 15, "cp": 4.0}
        answer = {
            "request_id": f"{number:016x}",
            "model": {"name": MODEL, "version": "1", "threshold": 0.5},
            "predictions": [{"prediction": number % 2, "probability": 0.25 + 0.5 * (number % 2)}],
        }
        when = now - timedelta(hours=24 * (len(rows) - number) / len(rows))
        line = {"time": when.isoformat(), "request": {"records": [record]}, "response": answer}
        lines.append(json.dumps(line) + "\n")
    directory.mkdir(parents=True)
    (directory / f"predictions-{now:%Y-%m-%d}.jsonl").write_text("".join(lines), "utf-8")
    return directory


def test_dags_test_runs_the_pipeline_then_skips_what_did_not_change(
    project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "airflow-home"
    first_output, first = dags_test(project, home, {})
    assert first == {
        **dict.fromkeys(STAGES, "success"),
        "monitor": "success",
        "keep_champion": "success",
        "retrain": "skipped",
        "run": "success",
    }, first_output[-3000:]
    print("first run, task states:", first)  # shown with -rP: the run's record in CI's log
    assert "monitor: no prediction log yet, nothing to judge" in first_output
    store = f"sqlite:///{project / 'mlflow.db'}"
    python = project / ".venv" / "bin" / "python"
    champion = run([python, "-c", CHAMPION, store, MODEL], cwd=project).stdout.strip()
    assert champion == "1"

    log = shifted_log(project, tmp_path / "predictions")
    second_output, second = dags_test(project, home, {"PREDICTION_LOG_DIR": str(log)})
    assert second == {
        **dict.fromkeys(STAGES, "skipped"),
        "monitor": "success",
        "retrain": "success",
        "keep_champion": "skipped",
        "run": "success",
    }, second_output[-3000:]
    print("second run, task states:", second)
    for stage in STAGES:
        assert f"stage {stage} didn't change: DVC skipped it" in second_output
    assert "monitor: drift: retraining" in second_output
    assert "airflow db migrate" not in second_output  # migrated once, by the first run
    assert run([python, "-c", CHAMPION, store, MODEL], cwd=project).stdout.strip()


def _api(url: str, token: str | None = None, body: dict[str, str] | None = None) -> Any:
    """The JSON answer of Airflow's API at `url` (a POST of `body` when given)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _dag_when_served(
    url: str, home: Path, process: subprocess.Popen[str], log: Path
) -> dict[str, Any]:
    """The DAG as the API gives it, once the server is up and the DAG parsed; a token from
    the admin's generated password, as docs/airflow.md shows."""
    passwords = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + STANDALONE_WITHIN
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8")[-4000:]
        try:
            password = json.loads(passwords.read_text(encoding="utf-8"))["admin"]
            login = {"username": "admin", "password": password}
            token = _api(f"{url}/auth/token", body=login)["access_token"]
            dag: dict[str, Any] = _api(f"{url}/api/v2/dags/{DAG_ID}", token)
            return dag
        except (OSError, ValueError, KeyError):  # not up, no password yet, DAG not parsed
            time.sleep(2)
    raise AssertionError(f"the API did not give the DAG within {STANDALONE_WITHIN} s")


def test_standalone_serves_the_dag_through_the_rest_api(project: Path, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "standalone.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            ["make", "airflow-standalone", f"AIRFLOW_PORT={port}"],
            cwd=project,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        dag = _dag_when_served(url, project / ".venv" / "airflow", process, log)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _api(f"{url}/api/v2/dags/{DAG_ID}")
    finally:
        assert stop_group(process), "airflow standalone outlived SIGTERM to its process group"
    assert refused.value.code == 401  # no token, no DAG
    assert dag["dag_id"] == DAG_ID
    assert dag["is_paused"] is True  # new DAGs start paused
    assert dag["timetable_summary"] == "0 0 * * 0"  # params.yaml's @weekly
    assert dag["fileloc"] == str(project / "dags" / f"{DAG_ID}.py")
