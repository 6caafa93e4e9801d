"""E2E fixtures: one generated and installed project shared by every test that needs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import commit_all, run, scaffold


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
    return project


@pytest.fixture(scope="session")
def trained(default_project: Path) -> Path:
    """The default project after its first `make repro`, results committed as a user would.

    Champion: version 1 of the registered model. Tests may add versions but must leave the
    champion alias, the data and the git working tree as they found them.
    """
    run(["make", "repro"], cwd=default_project, timeout=900)
    commit_all(default_project, "first pipeline run")
    return default_project
