"""The generated pipeline under faults: a bad setting, SIGTERM mid-run, two runs at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import OUTER_MAKE, commit_all, run, scaffold

pytestmark = pytest.mark.e2e

MODEL_NAME = "heart-disease-risk"
BAD_C_LINE = "repro: params.yaml: train.logistic_regression.C = -5: must be a number > 0"
SIGTERM_LINE = "{stage}: terminated by SIGTERM; stopped (an open MLflow run is marked FAILED)"
REFUSED = "repro: refused: another `make repro` (PID {pid}) is running in this project; "
REGISTRY_PROBE = """
import json
from pathlib import Path
from urllib.parse import urlparse
from mlflow import MlflowClient
client = MlflowClient()
runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
versions = client.search_model_versions("name = '{name}'")
print(json.dumps({{
    "runs": sorted(r.info.status for r in runs),
    "versions": sorted(int(v.version) for v in versions),
    "without_artefacts": [
        v.version for v in versions
        if not Path(urlparse(client.get_model_version_download_uri(v.name, v.version)).path,
                    "MLmodel").is_file()
    ],
    "champion": int(client.get_model_version_by_alias("{name}", "champion").version),
}}))
"""


def _registry(project: Path) -> dict[str, object]:
    """Runs, versions (and those whose artefacts are missing) and the champion, via MlflowClient."""
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    probe = REGISTRY_PROBE.format(name=MODEL_NAME)
    out = run([project / ".venv/bin/python", "-c", probe], cwd=project, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _start(command: list[str], cwd: Path) -> subprocess.Popen[str]:
    """A command in its own process group (as a CI job), its output collected."""
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE}
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(condition: Callable[[], bool], what: str, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _group_gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def _running_runs(project: Path) -> int:
    with sqlite3.connect(project / "mlflow.db") as store:
        return store.execute("SELECT count(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0]


def _lock_holder(project: Path) -> str:
    """The PID that `make repro` wrote into its lock file once it held the lock, or ``""``."""
    lock = project / ".dvc/tmp/repro.lock"
    return lock.read_text(encoding="utf-8").strip() if lock.exists() else ""


def _set_c(project: Path, value: str) -> None:
    _replace(project / "params.yaml", "    C: 1.0\n", f"    C: {value}\n")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def own_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained project of this module's own: these tests kill runs and add versions."""
    root = tmp_path_factory.mktemp("faults")
    remote = root / "dvc-remote"
    created = scaffold(
        "new", "-q", "proj", "--defaults", "-d", f"dvc_remote_url={remote}", cwd=root
    )
    assert created.returncode == 0, created.stderr
    project = root / "proj"
    run(["make", "install", "repro"], cwd=project, timeout=900)
    commit_all(project, "first pipeline run")
    return project


def test_bad_setting_stops_repro_in_one_line(trained: Path) -> None:
    """C: -5 ends `make repro` with one line, before DVC or MLflow touch anything."""
    before = _registry(trained)
    _set_c(trained, "-5")
    try:
        failed = run(["make", "repro"], cwd=trained, check=False)
    finally:
        run(["git", "checkout", "--", "params.yaml"], cwd=trained)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "Traceback" not in output
    assert "Running stage" not in output
    assert [line for line in output.splitlines() if "params.yaml" in line] == [BAD_C_LINE]
    *_, last_line, make_line = failed.stderr.splitlines()
    assert last_line == BAD_C_LINE
    assert make_line.startswith("make: *** ")
    assert _registry(trained) == before
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == ""


def test_sigterm_during_train_leaves_the_registry_consistent(own_project: Path) -> None:
    """Killed inside its MLflow run: run FAILED, no new version, champion kept; rerun completes.

    Every figure is relative to the registry before: the module's tests run in any order."""
    before = _registry(own_project)
    statuses = Counter(before["runs"])
    _set_c(own_project, "0.5")  # train reruns
    repro = _start(["make", "repro"], own_project)
    _wait_for(lambda: _running_runs(own_project) > 0, "the train stage's MLflow run")
    os.killpg(repro.pid, signal.SIGTERM)
    output, _ = repro.communicate(timeout=120)
    _wait_for(lambda: _group_gone(repro.pid), "the stopped stage to exit", within=120)
    assert repro.returncode != 0
    assert SIGTERM_LINE.format(stage="train") in output.splitlines()
    assert "Traceback" not in output
    registry = _registry(own_project)
    assert Counter(registry["runs"]) == statuses + Counter(FAILED=1)
    assert registry["versions"] == before["versions"]
    assert registry["champion"] == before["champion"]
    assert not list(own_project.glob("**/.*.partial"))

    run(["make", "repro"], cwd=own_project, timeout=900)
    registry = _registry(own_project)
    assert Counter(registry["runs"]) == statuses + Counter(FAILED=1, FINISHED=1)
    assert registry["versions"] == [*before["versions"], max(before["versions"]) + 1]
    assert registry["without_artefacts"] == []
    commit_all(own_project, "retrained with C 0.5")


def test_a_second_repro_is_refused_while_the_first_completes(own_project: Path) -> None:
    """Two `make repro` at once: the second is refused in one line, the first finishes."""
    before = _registry(own_project)["versions"]
    (own_project / ".dvc/tmp/repro.lock").unlink(missing_ok=True)  # free: nobody holds it
    first = _start(["make", "repro", "REPRO_FLAGS=--force"], own_project)
    try:
        _wait_for(lambda: _lock_holder(own_project) != "", "the first run to take the lock")
        holder = _lock_holder(own_project)
        second = run(["make", "repro"], cwd=own_project, check=False)
        first_output, _ = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert second.returncode != 0
    refused = [line for line in second.stderr.splitlines() if line.startswith("repro:")]
    assert refused == [REFUSED.format(pid=holder) + "wait for it to finish"]
    assert "Running stage" not in second.stdout + second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert first.returncode == 0, first_output[-3000:]
    assert "Running stage 'evaluate'" in first_output
    assert _registry(own_project)["versions"] == [*before, max(before) + 1]


def test_sigterm_during_evaluate_leaves_the_registry_consistent(own_project: Path) -> None:
    """Killed inside evaluate's MLflow run (the training run, reopened): that run FAILED, the
    champion kept, every version complete; the next `make repro` completes evaluate."""
    before = _registry(own_project)
    statuses = Counter(before["runs"])
    _replace(own_project / "params.yaml", "min_improvement: 0.005 ", "min_improvement: 0.006 ")
    repro = _start(["make", "repro"], own_project)  # reruns evaluate alone
    _wait_for(lambda: _running_runs(own_project) > 0, "the evaluate stage's MLflow run")
    os.killpg(repro.pid, signal.SIGTERM)
    output, _ = repro.communicate(timeout=120)
    _wait_for(lambda: _group_gone(repro.pid), "the stopped stage to exit", within=120)
    assert repro.returncode != 0
    assert "Running stage 'train'" not in output
    assert SIGTERM_LINE.format(stage="evaluate") in output.splitlines()
    assert "Traceback" not in output
    registry = _registry(own_project)
    assert Counter(registry["runs"]) == statuses + Counter(FAILED=1) - Counter(FINISHED=1)
    next_version = max(before["versions"]) + 1
    # Stopped before the registration step, or (SIGTERM held back) just after it, never within.
    assert registry["versions"] in (before["versions"], [*before["versions"], next_version])
    assert registry["without_artefacts"] == []
    assert registry["champion"] == before["champion"]
    assert not list(own_project.glob("**/.*.partial"))

    done = run(["make", "repro"], cwd=own_project, timeout=900)
    assert "Running stage 'evaluate'" in done.stdout + done.stderr
    registry = _registry(own_project)
    assert registry["runs"] == before["runs"]
    assert registry["versions"][-1] == registry["versions"][0] + len(registry["versions"]) - 1
    assert registry["versions"][-1] in (next_version, next_version + 1)
    assert registry["without_artefacts"] == []
    assert registry["champion"] == before["champion"]
    commit_all(own_project, "evaluated with min_improvement 0.006")
