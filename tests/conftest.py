"""Test-wide isolation: a private template mirror and a git identity for commits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the user's mirror and git config out of the tests."""
    patch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("scaffold-home")
    patch.setenv("SCAFFOLD_HOME", str(home))
    for role in ("AUTHOR", "COMMITTER"):
        patch.setenv(f"GIT_{role}_NAME", "Test User")
        patch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield home
    patch.undo()
