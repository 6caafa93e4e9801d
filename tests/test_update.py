"""`scaffold update` on a tiny inline template: what changed, what conflicts, how it is told."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scaffold import api
from scaffold.errors import ExitCode
from tests.inline import release_v2, template_repo, write_files
from tests.support import BIN, commit_all, run, scaffold


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A template at v1; the tests release v2."""
    return template_repo(tmp_path / "template")


def _project(template: Path, where: Path, user_edits: dict[str, str | None]) -> Path:
    project = api.create(where / "proj", template=str(template), vcs_ref="v1", defaults=True).path
    write_files(project, user_edits)
    commit_all(project, "user edits")
    return project


def test_update_result_lists_added_modified_removed_and_conflicts(
    template: Path, tmp_path: Path
) -> None:
    project = _project(template, tmp_path, {"settings.toml": "line-length = 120\n"})
    release_v2(template)

    result = api.update(project)

    assert (result.old_version, result.new_version) == ("v1", "v2")
    assert result.added == ("new.txt",)
    assert result.modified == (".copier-answers.yml", "settings.toml")
    assert result.removed == ("old.txt",)
    assert result.conflicts == ("settings.toml",)
    assert "<<<<<<< " in (project / "settings.toml").read_text()


def test_update_without_conflicts_has_none(template: Path, tmp_path: Path) -> None:
    project = _project(template, tmp_path, {"NOTES.md": "mine\n"})
    release_v2(template)

    result = api.update(project)

    assert result.conflicts == ()
    assert result.changed == (".copier-answers.yml", "new.txt", "old.txt", "settings.toml")
    assert (project / "NOTES.md").read_text() == "mine\n"


def test_update_json_prints_one_object_and_exits_3_on_conflicts(
    template: Path, tmp_path: Path
) -> None:
    project = _project(template, tmp_path, {"settings.toml": "line-length = 120\n"})
    release_v2(template)

    done = scaffold("update", "--json", project, cwd=tmp_path)

    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout) == {
        "schema": 1,
        "path": str(project),
        "old_version": "v1",
        "new_version": "v2",
        "added": ["new.txt"],
        "modified": [".copier-answers.yml", "settings.toml"],
        "removed": ["old.txt"],
        "conflicts": ["settings.toml"],
        "locked": [],
        "lock_problem": None,
        "mirrored": None,
    }
    assert "Traceback" not in done.stderr


def test_update_json_when_already_current(template: Path, tmp_path: Path) -> None:
    project = _project(template, tmp_path, {})

    done = scaffold("update", "--json", "-q", project, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "schema": 1,
        "path": str(project),
        "old_version": "v1",
        "new_version": "v1",
        "added": [],
        "modified": [],
        "removed": [],
        "conflicts": [],
        "locked": [],
        "lock_problem": None,
        "mirrored": None,
    }


def test_update_text_lists_changes_on_stdout_and_conflicts_on_stderr(
    template: Path, tmp_path: Path
) -> None:
    project = _project(template, tmp_path, {"settings.toml": "line-length = 120\n"})
    release_v2(template)

    done = scaffold("update", "-q", project, cwd=tmp_path)

    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "  added: new.txt",
        "  modified: .copier-answers.yml",
        "  modified: settings.toml",
        "  removed: old.txt",
    ]
    assert done.stderr.splitlines() == [
        "error: update left 1 file(s) with conflicts to resolve: settings.toml",
        "  conflict: settings.toml",
    ]


@pytest.mark.e2e
@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.5, 2.0])
def test_update_stopped_by_sigterm_can_be_restored_as_it_says(
    template: Path, tmp_path: Path, delay: float
) -> None:
    """Whenever SIGTERM lands, the advice printed restores the last commit."""
    project = api.create(tmp_path / "proj", template=str(template), vcs_ref="v1", defaults=True)
    write_files(project.path, {"settings.toml": "line-length = 120\n"})
    commit_all(project.path, "user edit")
    head = run(["git", "rev-parse", "HEAD"], cwd=project.path).stdout
    release_v2(template)
    with subprocess.Popen(
        [BIN / "scaffold", "update", "-q", project.path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    if process.returncode == 128 + signal.SIGTERM:
        (command,) = re.findall(r"`([^`]+)`", stderr.splitlines()[-1])
        run(["bash", "-c", command], cwd=project.path)
        assert run(["git", "status", "--porcelain"], cwd=project.path).stdout == ""
    else:  # the update was over before the signal: it reported its conflict as usual
        assert process.returncode in {ExitCode.CONFLICTS, -signal.SIGTERM}, stderr
    assert run(["git", "rev-parse", "HEAD"], cwd=project.path).stdout == head
