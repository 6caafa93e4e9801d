"""The git helpers read porcelain output exactly: a leading space or dot is part of the data."""

from __future__ import annotations

from pathlib import Path

from scaffold import _git
from tests.support import commit_all, run


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    run(["git", "init", "--quiet", "--initial-branch=main"], cwd=root)
    for name, text in files.items():
        (root / name).write_text(text)
    commit_all(root, "first")
    return root


def test_dirty_files_keeps_the_leading_dot_of_an_unstaged_change(tmp_path: Path) -> None:
    """` M .copier-answers.yml` is the first line: stripping the output ate its space."""
    repo = _repo(tmp_path / "repo", {".copier-answers.yml": "_commit: v1\n"})
    (repo / ".copier-answers.yml").write_text("_commit: v2\n")
    assert _git.dirty_files(repo) == [".copier-answers.yml"]


def test_dirty_files_reads_unusual_names_and_renames(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"old name.txt": "a\n", "keep.txt": "b\n"})
    run(["git", "mv", "old name.txt", "new name.txt"], cwd=repo)
    (repo / "café.md").write_text("c\n")  # git quotes this name without -z
    (repo / "keep.txt").write_text("changed\n")
    assert sorted(_git.dirty_files(repo)) == ["café.md", "keep.txt", "new name.txt", "old name.txt"]


def test_git_keeps_leading_whitespace_and_drops_the_final_newline(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "a.txt").write_text("b\n")
    assert _git.git("status", "--porcelain", cwd=repo) == " M a.txt"


def test_changes_classifies_against_the_last_commit(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path / "repo", {".env.example": "A=1\n", "gone.txt": "x\n", "moved.txt": "m\n"}
    )
    (repo / ".env.example").write_text("A=2\n")
    (repo / "gone.txt").unlink()
    run(["git", "mv", "moved.txt", "here.txt"], cwd=repo)
    (repo / ".new").write_text("n\n")
    assert _git.changes(repo) == _git.Changes(
        added=(".new", "here.txt"), modified=(".env.example",), removed=("gone.txt", "moved.txt")
    )
