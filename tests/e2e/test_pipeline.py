"""The generated ML pipeline, run for real: DVC stages, MLflow tracking, the registry gate."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import commit_all, free_port, git_files, render, run, stop_group

pytestmark = pytest.mark.e2e

MODEL_NAME = "heart-disease-risk"
REGISTRY_PROBE = """
import json
import mlflow
from mlflow import MlflowClient
client = MlflowClient()
versions = client.search_model_versions("name = '{name}'")
champion = client.get_model_version_by_alias("{name}", "champion")
run = client.get_run(champion.run_id)
info = mlflow.models.get_model_info("models:/{name}@champion")
print(json.dumps({{
    "signature": info.signature is not None,
    "example": info.saved_input_example_info is not None,
    "datasets": [d.dataset.digest for d in run.inputs.dataset_inputs],
    "versions": sorted(int(v.version) for v in versions),
    "champion": int(champion.version),
    "params": run.data.params,
    "metrics": run.data.metrics,
    "tags": run.data.tags,
}}))
"""


def _registry(project: Path) -> dict[str, object]:
    """What the project's MLflow registry holds, read with MLflow's own client."""
    probe = REGISTRY_PROBE.format(name=MODEL_NAME)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    out = run([project / ".venv/bin/python", "-c", probe], cwd=project, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _dvc(project: Path, *args: str, cwd: Path | None = None) -> str:
    """Run the project's DVC with its venv first on PATH, as an activated venv or make does."""
    path = f"{project / '.venv/bin'}{os.pathsep}{os.environ['PATH']}"
    return run([project / ".venv/bin/dvc", *args], cwd=cwd or project, env={"PATH": path}).stdout


def _json(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_first_run_tracks_metrics_and_promotes(trained: Path) -> None:
    metrics = _json(trained / "reports/metrics.json")
    assert 0.5 < float(metrics["roc_auc"]) <= 1.0  # type: ignore[arg-type]
    shown = run(["make", "metrics"], cwd=trained).stdout
    assert "roc_auc" in shown
    assert _json(trained / "reports/promotion.json")["promoted"] is True
    registry = _registry(trained)
    assert registry["versions"][0] == 1  # others may follow: the tests run in any order
    assert registry["champion"] == 1
    assert registry["params"], "training parameters must be logged"
    assert any("roc_auc" in name for name in registry["metrics"])  # type: ignore[union-attr]
    assert registry["signature"] is True
    assert registry["example"] is True
    assert registry["datasets"], "the training data set (with its digest) must be logged"
    tags = registry["tags"]
    first_run = ["git", "log", "-1", "--format=%P", "--grep=^first pipeline run$"]
    head = run(first_run, cwd=trained).stdout.strip()  # what was trained: the commit before it
    assert tags["git.commit"] == head  # type: ignore[index]
    dvc_file = (trained / "data/raw/heart.csv.dvc").read_text()
    assert f"md5: {tags['data.raw_md5']}" in dvc_file  # type: ignore[index]
    run(["make", "plots"], cwd=trained)
    assert (trained / "dvc_plots/index.html").is_file()


def test_second_repro_does_nothing(trained: Path) -> None:
    again = run(["make", "repro"], cwd=trained)
    assert "Running stage" not in again.stdout + again.stderr
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == ""


def test_gate_keeps_the_champion_for_an_equal_model(trained: Path) -> None:
    before = _registry(trained)["versions"]
    _dvc(trained, "repro", "--force", "--single-item", "evaluate")
    decision = _json(trained / "reports/promotion.json")
    assert decision["promoted"] is False
    registry = _registry(trained)
    assert registry["versions"] == [*before, max(before) + 1]  # type: ignore[arg-type]
    assert registry["champion"] == 1
    # DVC staged the new dvc.lock (core.autostage): back to HEAD's, and its outputs with it
    run(["git", "checkout", "HEAD", "--", "."], cwd=trained)
    _dvc(trained, "checkout", "--force")
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == ""


def test_predictions_verify_against_held_back_actuals(trained: Path) -> None:
    verified = run(["make", "verify"], cwd=trained)
    assert "accuracy" in verified.stdout.lower()
    with (trained / "reports/predictions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (trained / "data/processed/test_labels.csv").open(newline="") as handle:
        assert len(rows) == sum(1 for _ in csv.DictReader(handle))


def test_push_then_pull_into_a_fresh_clone(trained: Path, tmp_path: Path) -> None:
    run(["make", "push"], cwd=trained)
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(trained), str(clone)], cwd=tmp_path)
    assert not (clone / "data/raw/heart.csv").exists(), "raw data must not be in git"
    _dvc(trained, "pull", cwd=clone)
    original = (trained / "data/raw/heart.csv").read_bytes()
    assert (clone / "data/raw/heart.csv").read_bytes() == original
    assert (clone / "models").is_dir()
    status = _dvc(trained, "status", cwd=clone)
    assert "up to date" in status


def test_corrupt_data_fails_validation_and_keeps_the_champion(trained: Path) -> None:
    raw = trained / "data/raw/heart.csv"
    backup = trained.parent / "heart.csv.bak"
    shutil.copy2(raw, backup)
    lines = raw.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = "300" + lines[5][lines[5].index(",") :]  # an impossible age
    raw.unlink()  # DVC may have linked the file to its cache: never write through the link
    raw.write_text("".join(lines), encoding="utf-8")
    try:
        failed = run(["make", "repro"], cwd=trained, check=False)
        assert failed.returncode != 0
        message = failed.stdout + failed.stderr
        assert "age" in message
        assert "Traceback" not in message
        assert _registry(trained)["champion"] == 1
    finally:
        raw.unlink()
        shutil.move(backup, raw)
        # repro re-hashed the raw data, and DVC staged what prepare rewrote (core.autostage)
        run(["git", "checkout", "HEAD", "--", "."], cwd=trained)
        _dvc(trained, "checkout", "--force")
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == ""


def test_make_data_tracks_the_data_of_a_plain_copier_copy(
    default_project: Path, tmp_path: Path
) -> None:
    """Without scaffold, `make data` does what `scaffold new` did: the data leaves git for DVC."""
    project = render(tmp_path / "plain", dvc_remote_url=str(tmp_path / "remote"))
    run(["git", "init", "--quiet"], cwd=project)
    commit_all(project, "copier copy, data committed to git by mistake")
    venv = default_project / ".venv"
    # Reuse the installed tools; -o: never (re)install into that shared venv.
    make_data = ["make", "data", f"VENV={venv}", "-o", f"{venv}/.install.stamp"]
    run(make_data, cwd=project)
    commit_all(project, "track the data with DVC")
    assert "data/raw/heart.csv" not in git_files(project)
    assert {"data/raw/heart.csv.dvc", "data/raw/.gitignore"} <= git_files(project)
    _dvc(default_project, "status", "--quiet", "data/raw/heart.csv.dvc", cwd=project)
    again = run(make_data, cwd=project)
    assert "dvc add" not in again.stdout


def test_mlflow_ui_serves_the_registry_on_loopback(trained: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        ["make", "mlflow-ui", f"MLFLOW_PORT={port}"],
        cwd=trained,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped as a whole below
    )
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow/registered-models/get?name={MODEL_NAME}"
    try:
        body = None
        for _ in range(120):  # up to 60 s for the server to come up
            try:
                with urllib.request.urlopen(api, timeout=2) as response:
                    body = json.load(response)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail("make mlflow-ui exited before serving")
                time.sleep(0.5)
        assert body is not None, "the MLflow UI did not answer on 127.0.0.1"
        aliases = {alias["alias"] for alias in body["registered_model"].get("aliases", [])}
        assert "champion" in aliases
    finally:
        stop_group(server)
