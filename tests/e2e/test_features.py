"""`scaffold feature`: an installed project stays green with serving switched on, then off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import DEFAULT_PACKAGE, commit_all, run, scaffold

pytestmark = pytest.mark.e2e


def test_enable_then_disable_serving_keeps_make_test_green(tmp_path: Path) -> None:
    """Its own project (serving off, locked), not the shared `default_project`: it changes it."""
    created = scaffold(
        "new", "-q", "proj", "--defaults", "-d", "serving=false",
        "-d", f"dvc_remote_url={tmp_path / 'dvc-remote'}", cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    project = tmp_path / "proj"
    run(["make", "install"], cwd=project)
    serve_tests = project / "tests" / "serve"

    enabled = scaffold("feature", "enable", "serving", project, "-q", cwd=project)
    assert enabled.returncode == 0, enabled.stderr
    assert "  modified: uv.lock" in enabled.stdout.splitlines()  # fastapi and uvicorn locked
    assert (project / "src" / DEFAULT_PACKAGE / "serve" / "app.py").is_file()
    assert (project / "docs" / "serving.md").is_file()
    commit_all(project, "enable serving")
    run(["make", "test"], cwd=project, timeout=1200)  # tests/serve/ included

    disabled = scaffold("feature", "disable", "serving", project, "-q", cwd=project)
    assert disabled.returncode == 0, disabled.stderr
    assert not serve_tests.exists()
    assert not (project / "docs" / "serving.md").exists()
    commit_all(project, "disable serving")
    run(["make", "test"], cwd=project, timeout=1200)
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
