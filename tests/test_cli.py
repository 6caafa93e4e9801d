"""The CLI layer alone: the error funnel, Ctrl-C messages, and what the CLI decides for the API."""

from __future__ import annotations

import io
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scaffold import _git, api, cli
from scaffold.cli import progress
from scaffold.errors import ExitCode, RepositoryError
from tests.inline import release_v2, template_repo, write_files
from tests.support import commit_all, run
from tests.terminal import in_a_terminal, read_terminal


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli.main, [str(arg) for arg in args])


def _raise(error: BaseException) -> Callable[..., Any]:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return fail


def test_mirror_errors_go_through_the_funnel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing the mirror's versions is inside the funnel too: one line, exit 1, no traceback."""
    monkeypatch.setattr(api, "mirror_versions", _raise(RepositoryError("git tag failed: boom")))
    result = _invoke("mirror")
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == ExitCode.USER_ERROR
    assert result.stderr == "error: git tag failed: boom\n"
    assert result.stdout == ""


def test_interrupted_new_says_nothing_was_left(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(api, "create", _raise(KeyboardInterrupt()))
    result = _invoke("new", "-q", "--defaults", tmp_path / "proj")
    assert result.exit_code == 128 + signal.SIGINT
    assert result.stderr == "interrupted; nothing was left behind\n"


def test_interrupted_update_tells_how_to_restore_and_that_works(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C after copier wrote everything (conflicts included): the advice restores HEAD."""
    template = template_repo(tmp_path / "template")
    project = api.create(tmp_path / "proj", template=str(template), vcs_ref="v1", defaults=True)
    write_files(project.path, {"settings.toml": "line-length = 120\n"})
    commit_all(project.path, "user edit")
    head = run(["git", "rev-parse", "HEAD"], cwd=project.path).stdout
    release_v2(template)
    monkeypatch.setattr(_git, "changes", _raise(KeyboardInterrupt()))

    result = _invoke("update", "-q", project.path)

    assert result.exit_code == 128 + signal.SIGINT
    assert "nothing was left behind" not in result.stderr
    assert f"interrupted; {project.path} may hold part of the update" in result.stderr
    assert run(["git", "status", "--porcelain"], cwd=project.path).stdout != ""
    (command,) = re.findall(r"`([^`]+)`", result.stderr)
    run(["bash", "-c", command], cwd=project.path)
    assert run(["git", "status", "--porcelain"], cwd=project.path).stdout == ""
    assert run(["git", "rev-parse", "HEAD"], cwd=project.path).stdout == head
    assert (project.path / "settings.toml").read_text() == "line-length = 120\n"


def test_api_create_leaves_the_terminal_question_to_its_caller(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without `defaults` and every question answered, no terminal is needed: no isatty check."""
    template = template_repo(tmp_path / "template")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = api.create(
        tmp_path / "proj", {"name": "given"}, template=str(template), vcs_ref="v1", defaults=False
    )
    assert (result.path / "README.md").read_text() == "# given\n"


def test_steps_off_a_terminal_are_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """Each step as it starts; its duration only when it took over a second; none with quiet."""
    with progress.steps(quiet=False) as step:
        step("Rendering project")
        time.sleep(1.1)
        step("Creating the first git commit")
    with progress.steps(quiet=True) as step:
        step("Rendering project")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "• Rendering project …"
    assert re.fullmatch(r"  Rendering project: 1\.\d s", lines[1]), lines
    assert lines[2:] == ["• Creating the first git commit …"]


LIVE_STEPS_WITH_A_WARNING = """
import logging, time
from scaffold.cli import main, progress
main.callback()  # the `scaffold` group's set-up: library warnings become `warning:` lines
with progress.steps(quiet=False) as step:
    step("Rendering project")
    time.sleep(0.3)
    logging.getLogger("scaffold.source").warning("the template mirror was damaged")
    time.sleep(0.3)
"""


def test_a_warning_on_a_terminal_goes_above_the_live_steps(tmp_path: Path) -> None:
    """The spinner's line is cleared first: the warning is a line of its own, not glued on."""
    command: list[str | Path] = [sys.executable, "-c", LIVE_STEPS_WITH_A_WARNING]
    with in_a_terminal(command, tmp_path) as (process, master):
        shown = read_terminal(master, process).decode(errors="replace")
        assert process.wait(timeout=60) == 0, shown
    lines = re.split(r"\r\n|\r|\n", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown))
    assert "warning: the template mirror was damaged" in lines, lines
    assert "✓ Rendering project 0:00:00" in lines, lines
