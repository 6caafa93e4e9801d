"""`scaffold update` across tags of a temporary copy of this template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scaffold.locking import uv_binary
from tests.support import commit_all, copy_template_repo, run, scaffold

pytestmark = pytest.mark.e2e


def _change_template(repo: Path, tag: str) -> None:
    """A template change a user should receive: a new Makefile target and a new file."""
    makefile = repo / "template" / "Makefile.jinja"
    makefile.write_text(
        makefile.read_text() + "\nwhats-new: ## Show what the template added\n\t@echo new\n"
    )
    (repo / "template" / "CHANGELOG.md").write_text("# Changelog\n\n- whats-new target\n")
    commit_all(repo, "template: add whats-new", tag=tag)


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    repo = copy_template_repo(tmp_path / "template-repo")
    run(["git", "tag", "v0.1.0"], cwd=repo)
    return repo


def _new_project(template_repo: Path, where: Path) -> Path:
    created = scaffold(
        "new",
        "-q",
        "proj",
        "--defaults",
        "--template",
        template_repo,
        "--vcs-ref",
        "v0.1.0",
        cwd=where,
    )
    assert created.returncode == 0, created.stderr
    return where / "proj"


def test_update_brings_template_changes_and_keeps_user_edits(
    template_repo: Path, tmp_path: Path
) -> None:
    project = _new_project(template_repo, tmp_path)
    makefile = project / "Makefile"
    lines = makefile.read_text().splitlines(keepends=True)
    makefile.write_text("".join([lines[0], "# team note: keep this line\n", *lines[1:]]))
    (project / "tests" / "test_team.py").write_text("def test_team():\n    assert True\n")
    commit_all(project, "user edits")
    _change_template(template_repo, "v0.2.0")

    done = scaffold("update", project, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    text = makefile.read_text()
    assert "whats-new:" in text, "the template change must arrive"
    assert "# team note: keep this line" in text, "the user's edit must survive"
    assert (project / "CHANGELOG.md").is_file()
    assert (project / "tests" / "test_team.py").is_file()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.2.0"
    assert "v0.1.0 → v0.2.0" in done.stdout
    for line in ("added: CHANGELOG.md", "modified: .copier-answers.yml", "modified: Makefile"):
        assert f"  {line}\n" in done.stdout, done.stdout
    leftovers = run(["git", "ls-files", "--others", "--exclude-standard"], cwd=project).stdout
    assert ".rej" not in leftovers
    assert "<<<<<<<" not in text


def _conflicting_change(template_repo: Path, project: Path) -> Path:
    """The user and the template (v0.2.0) change the same line of pyproject.toml."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("line-length = 100", "line-length = 120"))
    commit_all(project, "user prefers 120")
    source = template_repo / "template" / "pyproject.toml.jinja"
    source.write_text(source.read_text().replace("line-length = 100", "line-length = 110"))
    commit_all(template_repo, "template: 110", tag="v0.2.0")
    return pyproject


def test_update_reports_conflicts_and_exits_non_zero(template_repo: Path, tmp_path: Path) -> None:
    project = _new_project(template_repo, tmp_path)
    pyproject = _conflicting_change(template_repo, project)

    done = scaffold("update", project, cwd=tmp_path)

    assert done.returncode == 3, done.stdout + done.stderr
    assert "conflict: pyproject.toml" in done.stderr
    assert "Traceback" not in done.stderr
    assert "<<<<<<< before updating" in pyproject.read_text()


def test_update_json_reports_the_conflict(template_repo: Path, tmp_path: Path) -> None:
    project = _new_project(template_repo, tmp_path)
    _conflicting_change(template_repo, project)

    done = scaffold("update", "--json", project, cwd=tmp_path)

    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["schema"] == 1
    assert (report["old_version"], report["new_version"]) == ("v0.1.0", "v0.2.0")
    assert report["conflicts"] == ["pyproject.toml"]
    assert report["modified"] == [".copier-answers.yml", "pyproject.toml"]
    assert (report["added"], report["removed"]) == ([], [])
    assert report["locked"] == []
    assert report["lock_problem"] == (
        "pyproject.toml has conflicts; resolve them, then run `make lock`"
    )


def test_update_relocks_when_the_template_adds_a_dependency(
    template_repo: Path, tmp_path: Path
) -> None:
    project = _new_project(template_repo, tmp_path)
    lock = project / "uv.lock"
    assert 'name = "humanize"' not in lock.read_text()
    source = template_repo / "template" / "pyproject.toml.jinja"
    text = source.read_text()
    anchor = "dependencies = [\n"
    assert anchor in text
    source.write_text(text.replace(anchor, anchor + '    "humanize>=4.9",\n', 1))
    commit_all(template_repo, "template: humanize", tag="v0.2.0")

    done = scaffold("update", "--json", project, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["locked"] == ["uv.lock"] and report["lock_problem"] is None
    assert "uv.lock" in report["modified"]
    assert 'name = "humanize"' in lock.read_text()
    # The project's own check that the lock matches pyproject.toml (make install runs it).
    uv = uv_binary()
    assert uv is not None
    run([uv, "lock", "--locked", "--offline", "--quiet"], cwd=project)


def test_update_when_nothing_changed(template_repo: Path, tmp_path: Path) -> None:
    project = _new_project(template_repo, tmp_path)
    done = scaffold("update", project, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Already up to date" in done.stdout
