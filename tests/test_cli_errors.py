"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import scaffold


def _assert_one_line_error(stderr: str, needle: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert needle in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-d", "project_slug=My Project"], "project_slug"),
        (["-d", "package_name=class"], "'class' is a Python keyword"),
        (["-d", "package_name=json"], "standard-library module"),
        (["-d", "package_name=Heart-Risk"], "package_name"),
        (["-d", "author_email=nobody"], "author_email"),
        (["-d", "colour=blue"], "unknown question 'colour'"),
        (["-d", "python_version=3.9"], "allowed values: 3.10, 3.11, 3.12, 3.13"),
        (["-d", "novalue"], "not of the form key=value"),
        (["--template", "/no/such/template"], "not found"),
    ],
)
def test_new_rejects_bad_input(tmp_path: Path, args: list[str], needle: str) -> None:
    done = scaffold("new", "-q", "out", "--defaults", *args, cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, needle)
    assert list(tmp_path.iterdir()) == [], "nothing may be written on bad input"


def test_new_refuses_non_empty_destination(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    done = scaffold("new", "-q", dest, "--defaults", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "not empty; pass --force")
    assert [path.name for path in dest.iterdir()] == ["notes.txt"]
    assert (dest / "notes.txt").read_text() == "keep me"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mine"]


def test_new_without_terminal_needs_defaults(tmp_path: Path) -> None:
    done = scaffold("new", "-q", "out", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "pass --defaults")
    assert list(tmp_path.iterdir()) == []


def test_update_outside_a_project(tmp_path: Path) -> None:
    done = scaffold("update", "-q", tmp_path, cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "not a generated project")


def test_update_refuses_a_dirty_repository(tmp_path: Path) -> None:
    created = scaffold("new", "-q", "proj", "--defaults", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    (tmp_path / "proj" / "scratch.py").write_text("x = 1\n")
    done = scaffold("update", "-q", "proj", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "uncommitted changes")
    assert (tmp_path / "proj" / "scratch.py").read_text() == "x = 1\n"
