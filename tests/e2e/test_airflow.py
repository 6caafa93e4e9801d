"""Airflow in a generated project, for real: `airflow dags test` runs the DAG end to end.

The shared project with airflow=true (tests/e2e/conftest.py, shared with the pods' test),
then `make airflow-run` (Airflow installed from uv.lock's `airflow` group, `airflow db
migrate` in a temporary AIRFLOW_HOME with SQLite, then `airflow dags test`). The first run
runs every stage and registers the champion; the monitor finds no prediction log yet and
keeps the champion. The second run, with a prediction log of
shifted traffic, finds nothing changed (every stage task ends *skipped*, saying DVC's "didn't
change"), the monitor finds drift (exit code 3) and the retrain branch reruns every stage.
The task states come from Airflow's own database. `make airflow-standalone` starts every
Airflow component on 127.0.0.1, and its REST API, asked with the generated admin's token,
knows the DAG.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import DEFAULT_PACKAGE, OUTER_MAKE, free_port, run, stop_group

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("airflow")]

DAG_ID = f"{DEFAULT_PACKAGE}_pipeline"
STAGES = ["prepare", "validate", "train", "evaluate"]
READY_WITHIN = 300.0  # seconds: a bound on the wait for the standalone Airflow, not a timing
MODEL = DEFAULT_PACKAGE.replace("_", "-")
CHAMPION = """
import sys
from mlflow import MlflowClient
version = MlflowClient(sys.argv[1]).get_model_version_by_alias(sys.argv[2], "champion")
print(version.version)
"""


@pytest.fixture(scope="module")
def project(airflow_project: Path) -> Path:
    """The shared Airflow project (tests/e2e/conftest.py); each run has its own AIRFLOW_HOME."""
    return airflow_project


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


def ask(url: str, token: str | None = None, body: dict[str, str] | None = None) -> Any:
    """GET (or POST ``body`` as JSON) and decode the answer; None while nothing answers."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as got:
            return json.loads(got.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):  # HTTPError included
        return None


def the_dag(base: str, home: Path) -> Any:
    """The DAG as the REST API describes it, with the generated admin's token; None until the
    API answers, the password is written and the DAG processor has stored the DAG."""
    passwords = home / "simple_auth_manager_passwords.json.generated"
    if not passwords.is_file():
        return None
    credentials = {"username": "admin", "password": json.loads(passwords.read_text())["admin"]}
    token = ask(f"{base}/auth/token", body=credentials)
    return token and ask(f"{base}/api/v2/dags/{DAG_ID}", token["access_token"])


def test_airflow_standalone_serves_the_dag_on_loopback(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "standalone-home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE}
    log = tmp_path / "standalone.log"
    started = time.monotonic()
    with log.open("w") as output:
        server = subprocess.Popen(
            ["make", "airflow-standalone", f"AIRFLOW_PORT={port}"],
            cwd=project,
            env={**env, "AIRFLOW_HOME": str(home)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        while (dag := the_dag(base, home)) is None:
            assert server.poll() is None, f"airflow standalone exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() - started < READY_WITHIN, log.read_text()[-3000:]
            time.sleep(2)
        print(f"standalone Airflow served the DAG after {time.monotonic() - started:.0f} s")
        assert dag["dag_id"] == DAG_ID
        assert dag["fileloc"] == str(project / "dags" / f"{DAG_ID}.py")
        assert {tag["name"] for tag in dag["tags"]} == {MODEL, "mlops"}
        assert dag["is_paused"] is True  # a new DAG waits to be unpaused
        assert dag["timetable_summary"] == "0 0 * * 0"  # params.yaml's @weekly
        with pytest.raises(urllib.error.HTTPError) as refused:  # no token, no answer
            urllib.request.urlopen(f"{base}/api/v2/dags/{DAG_ID}", timeout=10)
        assert refused.value.code == 401
    finally:
        assert stop_group(server, within=60), "airflow standalone outlived SIGTERM"
        assert group_ends(server.pid, within=60), "Airflow's processes outlived SIGTERM"


def group_ends(group: int, within: float) -> bool:
    """Whether every process of the group ends within ``within`` s; SIGKILL to any left."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    os.killpg(group, signal.SIGKILL)
    return False
