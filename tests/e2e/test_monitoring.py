"""Monitoring in the generated project: `make monitor`, `make feedback`, `make feedback-append`.

The prediction log is written here in the service's format (docs/monitoring.md of the
generated project) from the held-back test rows and the champion's probabilities for them:
traffic like the training data. A shifted copy (15 years older, chest pain type 4 in about
60 % of the patients) must flag exactly those two features.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import run

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 12, 1, tzinfo=UTC)
MONITOR_FLAGS = f"--now {NOW.isoformat()}"


def write_log(
    directory: Path, rows: list[dict[str, float]], probabilities: list[float], shift: bool = False
) -> list[dict[str, object]]:
    """One request of one record per row over the six days before NOW, in the service's format
    (a line per request: its body, the answer's body), in predictions-<date>.jsonl; returns the
    records (request_id, prediction)."""
    rng = random.Random(8 if shift else 7)  # the shifted log has request ids of its own
    records: list[dict[str, object]] = []
    lines: list[str] = []
    for number, (row, probability) in enumerate(zip(rows, probabilities, strict=True)):
        features = dict(row)
        if shift:
            features["age"] += 15
            if rng.random() < 0.6:
                features["cp"] = 4.0
        record = {
            "request_id": f"{rng.getrandbits(64):016x}",
            "prediction": int(probability >= 0.5),
        }
        answer = {
            "request_id": record["request_id"],
            "model": {"name": "heart-disease-risk", "version": "1", "threshold": 0.5},
            "predictions": [{"prediction": record["prediction"], "probability": probability}],
        }
        when = NOW - timedelta(days=6 * (len(rows) - number) / len(rows))
        line = {"time": when.isoformat(), "request": {"records": [features]}, "response": answer}
        lines.append(json.dumps(line) + "\n")
        records.append(record)
    directory.mkdir(parents=True, exist_ok=True)
    text = "".join(lines) + '{"time": "2026-12-01T00:00:00+00:00", "requ'  # a line being written
    (directory / "predictions-2026-12-01.jsonl").write_text(text, "utf-8")
    return records


def write_labels(path: Path, records: list[dict[str, object]]) -> Path:
    """Outcomes for the first 40 records: the predictions themselves, five of them flipped."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["request_id", "actual"])
        for number, record in enumerate(records[:40]):
            writer.writerow([record["request_id"], int(record["prediction"]) ^ (number % 8 == 0)])
    return path


@pytest.fixture(name="clean_monitoring")
def clean_monitoring_fixture(trained: Path) -> object:
    """The shared project, left without monitoring files afterwards (they are git-ignored)."""
    yield trained
    for leftover in ("data/feedback", "reports/monitoring"):
        shutil.rmtree(trained / leftover, ignore_errors=True)


def test_monitor_and_feedback_in_the_generated_project(
    clean_monitoring: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
    tmp_path: Path,
) -> None:
    """Held-back traffic is healthy (0); shifted traffic drifts (3) on age and cp only."""
    project = clean_monitoring
    rows, probabilities = held_back
    log = tmp_path / "log"
    env = {"PREDICTION_LOG_DIR": str(log), "MONITOR_FLAGS": MONITOR_FLAGS}
    records = write_log(log, rows, probabilities)
    done = run(["make", "monitor"], cwd=project, env=env)
    summary = json.loads((project / "reports/monitoring/summary.json").read_text("utf-8"))
    assert (summary["verdict"], summary["exit_code"]) == ("healthy", 0), summary
    assert summary["window"]["partial_lines"] == 1
    assert "partial last line(s) skipped" in done.stderr

    labels = write_labels(tmp_path / "labels.csv", records)
    fed = run(["make", "feedback", f"LABELS={labels}"], cwd=project, env=env)
    assert "40 label(s) added, 0 already stored" in fed.stderr
    performance = json.loads((project / "reports/monitoring/performance.json").read_text("utf-8"))
    assert (performance["labelled"], performance["unlabelled"]) == (40, len(rows) - 40)
    again = run(["make", "feedback", f"LABELS={labels}"], cwd=project, env=env)
    assert "0 label(s) added, 40 already stored" in again.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(f"request_id,actual\n{records[0]['request_id']},maybe\nnope,1\n", "utf-8")
    refused = run(["make", "feedback", f"LABELS={bad}"], cwd=project, env=env, check=False)
    assert refused.returncode != 0
    assert f"feedback: {bad}: 2 bad row(s); nothing stored" in refused.stderr
    assert f"feedback: {bad}: line 3: no such prediction in the log" in refused.stderr

    write_log(log, rows, probabilities, shift=True)
    drifted = run(["make", "monitor"], cwd=project, env=env, check=False)
    assert "Error 3" in drifted.stderr, drifted.stderr
    summary = json.loads((project / "reports/monitoring/summary.json").read_text("utf-8"))
    assert summary["verdict"] == "drift"
    assert summary["drift"]["drifted_features"] == ["age", "cp"]
    report = (project / "reports/monitoring/report.html").read_text("utf-8")
    assert "<script" not in report
    assert "data:image/png;base64," in report
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""


def test_feedback_append_changes_the_pipelines_data(
    trained: Path, held_back: tuple[list[dict[str, float]], list[float]], tmp_path: Path
) -> None:
    """Labelled rows join data/raw/heart.csv once; `dvc status` then shows prepare changed."""
    run(["make", "push"], cwd=trained)
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(trained), str(clone)], cwd=tmp_path)
    run(["make", "pull"], cwd=clone, timeout=900)
    rows, probabilities = held_back
    # New patients: the held-back rows one year older (the raw file holds the originals).
    older = [{**row, "age": row["age"] + 1} for row in rows]
    log = tmp_path / "log"
    records = write_log(log, older, probabilities)
    env = {"PREDICTION_LOG_DIR": str(log)}
    labels = write_labels(tmp_path / "labels.csv", records)
    run(["make", "feedback", f"LABELS={labels}"], cwd=clone, env=env)
    before = (clone / "data/raw/heart.csv").read_text("utf-8").splitlines()

    appended = run(["make", "feedback-append"], cwd=clone, env=env)
    after = (clone / "data/raw/heart.csv").read_text("utf-8").splitlines()
    assert "40 labelled row(s) appended" in appended.stderr, appended.stderr
    assert after[: len(before)] == before
    assert len(after) == len(before) + 40
    status = run([clone / ".venv/bin/dvc", "status", "prepare"], cwd=clone).stdout
    assert "prepare:" in status
    assert "changed deps" in status
    assert "data/raw/heart.csv" in status

    again = run(["make", "feedback-append"], cwd=clone, env=env)
    assert "0 labelled row(s) appended" in again.stderr
    assert (clone / "data/raw/heart.csv").read_text("utf-8").splitlines() == after
