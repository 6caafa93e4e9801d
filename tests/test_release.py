"""`make release VERSION=x.y.z` in a clone: each refusal in one line, then the tag."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, commit_all, run, tag_last_release

# What the release target reads, taken from this working tree (uncommitted changes too).
RELEASE_FILES = ("Makefile", ".ci/release", ".ci/run")
SECTION = "## [0.9.0] - 2026-12-07\n\n### Fixed\n- A fix.\n\n"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this repository with this tree's release files committed on top."""
    dest = tmp_path / "repo"
    run(["git", "clone", "--quiet", str(REPO_ROOT), str(dest)], cwd=tmp_path)
    tag_last_release(dest)  # a maintainer's clone has the tags; CI's may not
    for name in RELEASE_FILES:
        shutil.copy2(REPO_ROOT / name, dest / name)
    changelog = dest / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    changelog.write_text(text.replace("## [0.1.0]", SECTION + "## [0.1.0]", 1), encoding="utf-8")
    commit_all(dest, "changelog for 0.9.0")
    return dest


def _passed_ci(repo: Path) -> None:
    """What .ci/run writes after `make check` passed on this clean commit."""
    head = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
    stamp = run(["git", "rev-parse", "--git-path", "ci-passed"], cwd=repo).stdout.strip()
    with (repo / stamp).open("a", encoding="utf-8") as handle:
        handle.write(f"{head} 2026-12-07T06:00:00Z\n")


def _release(repo: Path, version: str | None) -> subprocess.CompletedProcess[str]:
    command = ["make", "--no-print-directory", "release"]
    if version is not None:
        command.append(f"VERSION={version}")
    return run(command, cwd=repo, check=False)


def _tags(repo: Path) -> list[str]:
    return run(["git", "tag", "--list", "v*"], cwd=repo).stdout.split()


@pytest.mark.parametrize(
    ("version", "refusal"),
    [
        (None, "release: no version: make release VERSION=x.y.z"),
        ("0.9", "release: VERSION=0.9 is not x.y.z (three numbers, e.g. 0.2.0)"),
        ("v0.9.0", "release: VERSION=v0.9.0 is not x.y.z (three numbers, e.g. 0.2.0)"),
        ("0.1.0", "release: v0.1.0 exists already"),
        ("0.0.9", "release: 0.0.9 is not newer than the last release, v0.1.0"),
        (
            "0.8.0",
            "release: CHANGELOG.md has no '## [0.8.0]' section: move [Unreleased] into one",
        ),
    ],
)
def test_a_wrong_version_is_refused_in_one_line(
    clone: Path, version: str | None, refusal: str
) -> None:
    _passed_ci(clone)
    before = _tags(clone)

    done = _release(clone, version)

    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.startswith("release:")] == [refusal]
    assert _tags(clone) == before


def test_a_dirty_tree_is_refused(clone: Path) -> None:
    _passed_ci(clone)
    (clone / "notes.txt").write_text("not committed\n", encoding="utf-8")

    done = _release(clone, "0.9.0")

    assert done.returncode != 0
    assert "release: the tree has uncommitted or untracked files" in done.stderr
    assert "v0.9.0" not in _tags(clone)


def test_a_commit_ci_did_not_pass_on_is_refused(clone: Path) -> None:
    _passed_ci(clone)  # on the commit before the next one
    (clone / "notes.txt").write_text("a later commit\n", encoding="utf-8")
    commit_all(clone, "a later commit")

    done = _release(clone, "0.9.0")

    assert done.returncode != 0
    short = run(["git", "rev-parse", "--short", "HEAD"], cwd=clone).stdout.strip()
    assert f"release: CI has not passed on {short}: run .ci/run" in done.stderr
    assert "v0.9.0" not in _tags(clone)


def test_a_clone_without_the_release_tags_is_refused(clone: Path) -> None:
    _passed_ci(clone)
    run(["git", "tag", "--delete", "v0.1.0"], cwd=clone)

    done = _release(clone, "0.9.0")

    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.startswith("release:")] == [
        "release: v0.1.0 (in CHANGELOG.md) is not tagged in this clone: git fetch --tags origin"
    ]
    assert _tags(clone) == []


def test_a_ready_commit_is_tagged(clone: Path) -> None:
    _passed_ci(clone)

    done = _release(clone, "0.9.0")

    assert done.returncode == 0, done.stderr
    assert "release: tagged v0.9.0" in done.stdout
    tagged = run(["git", "rev-list", "-n", "1", "v0.9.0"], cwd=clone).stdout.strip()
    assert tagged == run(["git", "rev-parse", "HEAD"], cwd=clone).stdout.strip()
    kind = run(["git", "cat-file", "-t", "v0.9.0"], cwd=clone).stdout.strip()
    assert kind == "tag"  # annotated, as v0.1.0
