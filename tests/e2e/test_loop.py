"""The monitoring loop end to end, offline, with the real service.

Serve the champion with the prediction log on; send traffic like the held-back rows, then
traffic with one feature shifted (15 years older) and one category code more frequent (chest
pain type 4); the monitor is healthy on the first (no false alarm, fixed seed) and flags exactly
those two features on the second. The outcomes come back through `make feedback`, the report
shows the window's ROC AUC, the labelled rows are appended to the training data, and `make
repro` retrains: the promotion gate promotes or keeps the champion, with its reason.

The project is this module's own (it appends to the data and may move the champion).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import DEFAULT_PACKAGE, commit_all, free_port, run, scaffold, stop_group

pytestmark = pytest.mark.e2e

BATCH = 6  # records per request: the log reads back each record's index in its request
DRIFT = 3  # the monitor's exit code for drift (docs/monitoring.md of the project)
WITHIN = 120.0  # seconds for the service to be ready, on a busy machine


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project after `make install repro export-model`, committed."""
    root = tmp_path_factory.mktemp("loop")
    created = scaffold(
        "new", "-q", "proj", "--defaults", "-d", f"dvc_remote_url={root / 'remote'}", cwd=root
    )
    assert created.returncode == 0, created.stderr
    project = root / "proj"
    run(["make", "install", "repro", "export-model"], cwd=project, timeout=1200)
    commit_all(project, "first pipeline run")
    return project


def _rows(project: Path) -> tuple[list[dict[str, float]], list[int]]:
    """The held-back rows (features) and their actual outcomes, in the same order."""
    processed = project / "data" / "processed"
    with (processed / "test_features.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (processed / "test_labels.csv").open(encoding="utf-8") as handle:
        labels = {row["id"]: row for row in csv.DictReader(handle)}
    features = [{k: float(v) for k, v in row.items() if k != "id"} for row in rows]
    actual = [
        int(float(next(v for k, v in labels[row["id"]].items() if k != "id"))) for row in rows
    ]
    return features, actual


def _shifted(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    """15 years older (within the schema's range), chest pain type 4 for about 60 %."""
    rng = random.Random(12)
    return [
        {**row, "age": min(row["age"] + 15, 120.0), "cp": 4.0 if rng.random() < 0.6 else row["cp"]}
        for row in rows
    ]


@contextmanager
def _service(project: Path, log_dir: Path) -> Iterator[str]:
    """The service on the export, logging to `log_dir`; stopped with SIGTERM (log flushed)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"MODEL_URI", "MLFLOW_TRACKING_URI"}}
    env |= {
        "SERVE_HOST": "127.0.0.1",
        "SERVE_PORT": str(port),
        "MODEL_DIR": str(project / "models" / "serving"),
        "PREDICTION_LOG_DIR": str(log_dir),
    }
    process = subprocess.Popen(
        [project / ".venv/bin/python", "-m", f"{DEFAULT_PACKAGE}.serve"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WITHIN
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                with urllib.request.urlopen(url + "/ready", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"not ready within {WITHIN} s"
            time.sleep(0.2)
        yield url
    finally:
        assert stop_group(process, 30.0), "the service did not stop on SIGTERM"


def _send(url: str, rows: list[dict[str, float]]) -> list[tuple[str, int]]:
    """POST the rows in batches; each record's (request id, index), in the rows' order."""
    keys = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        request = urllib.request.Request(
            url + "/predict",
            data=json.dumps({"records": batch}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = json.loads(answer.read())
            assert answer.headers["X-Request-ID"] == body["request_id"]
        assert len(body["predictions"]) == len(batch)
        keys += [(body["request_id"], index) for index in range(len(batch))]
    return keys


def _monitor(project: Path, log_dir: Path) -> tuple[int, dict[str, Any]]:
    """`python -m <pkg>.monitoring.monitor` on `log_dir`: its exit code and JSON summary."""
    done = subprocess.run(
        [project / ".venv/bin/python", "-m", f"{DEFAULT_PACKAGE}.monitoring.monitor"],
        cwd=project,
        env={**os.environ, "PREDICTION_LOG_DIR": str(log_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr
    summary = json.loads((project / "reports" / "monitoring" / "summary.json").read_text())
    return done.returncode, summary


def test_logged_traffic_drift_feedback_and_retraining_close_the_loop(
    project: Path, tmp_path: Path
) -> None:
    rows, actual = _rows(project)
    normal, shifted = tmp_path / "normal", tmp_path / "shifted"

    with _service(project, normal) as url:
        sent = _send(url, rows)
    lines = [
        json.loads(line)
        for file in sorted(normal.glob("predictions-*.jsonl"))
        for line in file.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) == -(-len(rows) // BATCH)  # one line per request
    logged = [
        (line["response"]["request_id"], index)
        for line in lines
        for index, _ in enumerate(line["request"]["records"])
    ]
    assert logged == sent  # every record, in order
    code, summary = _monitor(project, normal)
    assert (code, summary["verdict"], summary["drift"]["drifted_features"]) == (0, "healthy", [])

    with _service(project, shifted) as url:
        keys = _send(url, _shifted(rows))
    code, summary = _monitor(project, shifted)
    assert code == DRIFT, summary
    assert sorted(summary["drift"]["drifted_features"]) == ["age", "cp"]

    labels = tmp_path / "labels.csv"
    with labels.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["request_id", "index", "actual"])
        writer.writerows(
            (ident, index, outcome) for (ident, index), outcome in zip(keys, actual, strict=True)
        )
    env = {"PREDICTION_LOG_DIR": str(shifted)}
    run(["make", "feedback", f"LABELS={labels}"], cwd=project, env=env)
    code, summary = _monitor(project, shifted)
    performance = summary["performance"]
    assert performance["labelled"] == len(rows) and performance["judged"]
    assert 0.5 < performance["roc_auc"] <= 1.0  # the champion still ranks the shifted patients
    report = (project / "reports" / "monitoring" / "report.html").read_text(encoding="utf-8")
    assert "ROC AUC" in report

    raw = project / "data" / "raw" / "heart.csv"
    before = len(raw.read_text(encoding="utf-8").splitlines())
    run(["make", "feedback-append"], cwd=project, env=env)
    appended = len(raw.read_text(encoding="utf-8").splitlines()) - before
    assert appended > 0  # the shifted rows are new patients (the unshifted ones are known)
    run(["make", "repro"], cwd=project, timeout=1200)
    promotion = json.loads((project / "reports" / "promotion.json").read_text())
    assert promotion["candidate"]["version"] == "2"  # retrained on the appended rows
    assert promotion["reason"]
    assert promotion["alias_version"] == ("2" if promotion["promoted"] else "1")
