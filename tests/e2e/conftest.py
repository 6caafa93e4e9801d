"""E2E fixtures: one generated and installed project shared by every test that needs it."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.engine import Engine, find_engine
from tests.support import BIN, DEFAULT_PACKAGE, commit_all, freeze, git_files, run, scaffold

CHAMPION_PROBE = """
import json, sys
import mlflow.sklearn, pandas as pd
model = mlflow.sklearn.load_model("models:/{name}@champion")
features = pd.read_csv(sys.argv[1]).drop(columns="id")
print(json.dumps(model.predict_proba(features)[:, 1].tolist()))
"""


INSTALLED = "installed-packages.txt"  # beside the shared project, written by its fixture


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made by `scaffold new --defaults` and installed once with `make install`."""
    root = tmp_path_factory.mktemp("e2e")
    remote = root / "dvc-remote"  # outside the project, as the default ~/.dvc-storage is
    created = scaffold(
        "new", "-q", "proj", "--defaults", "-d", f"dvc_remote_url={remote}", cwd=root
    )
    assert created.returncode == 0, created.stderr
    project = root / "proj"
    run(["make", "install"], cwd=project)
    # What `make install` installed, before any test adds to the venv (`make check` adds the
    # validators' group): the reference of the tests that install the same lock again.
    (root / INSTALLED).write_text("\n".join(sorted(freeze(project / ".venv"))), encoding="utf-8")
    return project


@pytest.fixture(scope="session")
def table_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with a default project's locked pandas and scikit-learn, for tests/e2e/tables.py.

    A venv of its own (the scaffolder has no pandas, by design), not the shared project's: the
    tests that make projects from tables need no shared project, so they run beside it.
    """
    root = tmp_path_factory.mktemp("table-python")
    created = scaffold("new", "-q", "pins", "--defaults", cwd=root)
    assert created.returncode == 0, created.stderr
    pins, venv = root / "pins.txt", root / "venv"
    export = ["uv", "export", "--quiet", "--frozen", "--no-hashes", "--no-emit-project"]
    run([*export, "--output-file", pins], cwd=root / "pins")
    run(["uv", "venv", "--quiet", "--python", sys.executable, venv], cwd=root)
    install = ["uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", venv]
    run([*install, "-c", pins, "pandas", "scikit-learn"], cwd=root)
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def airflow_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with the Airflow option, installed with Airflow, its raw data pushed to its
    DVC remote (tests/e2e/test_airflow*.py, one xdist group: made once)."""
    root = tmp_path_factory.mktemp("airflow")
    created = scaffold(
        "new", "-q", "proj", "--defaults", "-d", "airflow=true",
        "-d", f"dvc_remote_url={root / 'dvc-remote'}", cwd=root,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    project = root / "proj"
    run(["make", "install", "airflow-install"], cwd=project)
    run([project / ".venv/bin/dvc", "push", "--quiet"], cwd=project)
    return project


@pytest.fixture(scope="session")
def installed_packages(default_project: Path) -> set[str]:
    """`name==version` of what `make install` put into the shared project's venv."""
    return set((default_project.parent / INSTALLED).read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="session")
def trained(default_project: Path) -> Path:
    """The default project after its first `make repro`, results committed as a user would.

    Champion: version 1 of the registered model. Tests may add versions but must leave the
    champion alias, the data and the git working tree as they found them.
    """
    run(["make", "repro"], cwd=default_project, timeout=900)
    commit_all(default_project, "first pipeline run")
    return default_project


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The container engine of `make container-engine`: in CI it must be there (never a skip)."""
    found, why = find_engine()
    if found is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI needs a container engine: {why}")
        pytest.skip(f"no container engine: {why}")
    return found


@pytest.fixture(scope="session")
def held_back(trained: Path) -> tuple[list[dict[str, float]], list[float]]:
    """The held-back test rows, and the champion's probabilities for them, computed in-process."""
    path = trained / "data" / "processed" / "test_features.csv"
    with path.open(encoding="utf-8") as handle:
        rows = [
            {k: float(v) for k, v in row.items() if k != "id"} for row in csv.DictReader(handle)
        ]
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{trained / 'mlflow.db'}"}
    probe = CHAMPION_PROBE.format(name=DEFAULT_PACKAGE.replace("_", "-"))
    out = run([trained / ".venv/bin/python", "-c", probe, path], cwd=trained, env=env).stdout
    return rows, json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def helm_env(tmp_path: Path) -> dict[str, str]:
    """`helm` first on PATH; its config, cache and data in a scratch directory."""
    helm = BIN / "helm"
    assert helm.is_file(), f"{helm} is missing: `make install` in the scaffolder fetches it"
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        **{
            f"HELM_{kind}_HOME": str(tmp_path / kind.lower())
            for kind in ("CACHE", "CONFIG", "DATA")
        },
    }


@pytest.fixture(scope="module")
def exported(trained: Path) -> Iterator[Path]:
    """`make export-model` (the ONNX export that the service and the image serve), once per
    module; removed afterwards, as the project had none."""
    before = git_files(trained)
    run(["make", "export-model"], cwd=trained)
    yield trained / "models" / "serving"
    shutil.rmtree(trained / "models" / "serving", ignore_errors=True)
    assert git_files(trained) == before
