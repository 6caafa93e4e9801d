"""Test-wide isolation: a private template mirror, a git identity, this venv's tools on PATH."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import BIN


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the user's mirror and git config out; put uv and the tools on PATH like a venv."""
    patch = pytest.MonkeyPatch()
    patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    home = tmp_path_factory.mktemp("scaffold-home")
    patch.setenv("SCAFFOLD_HOME", str(home))
    for role in ("AUTHOR", "COMMITTER"):
        patch.setenv(f"GIT_{role}_NAME", "Test User")
        patch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield home
    patch.undo()


# The e2e tests that share the installed and trained project (tests/e2e/conftest.py) run on
# one xdist worker, so `pytest -n 2 --dist loadgroup` builds that project once; the other
# worker takes the tests that make their own projects (updates, upgrades, classes…).
SHARED_PROJECT = frozenset({"default_project", "trained", "held_back"})


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its own hook of this name)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests that use the shared e2e project (a no-op without xdist)."""
    for item in items:
        if SHARED_PROJECT.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("shared-project"))
