"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import BIN, run, scaffold
from tests.terminal import in_a_terminal, read_terminal, sigint_as_in_a_terminal


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
        (["-d", "python_version=3.9"], "allowed values: 3.11, 3.12, 3.13"),
        (["-d", "novalue"], "not of the form key=value"),
        (["--template", "/no/such/template"], "not found"),
        (["-d", "serving=maybe"], "'serving', a yes/no question; use true/false, yes/no"),
        (["-d", "helm=2"], "'helm', a yes/no question"),
        (["-d", "package_name=" + "a" * 201], "package_name': must be at most 200 characters"),
        (["-d", "project_slug=" + "a" * 201], "project_slug': must be at most 200 characters"),
    ],
)
def test_new_rejects_bad_input(tmp_path: Path, args: list[str], needle: str) -> None:
    done = scaffold("new", "-q", "out", "--defaults", *args, cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, needle)
    assert list(tmp_path.iterdir()) == [], "nothing may be written on bad input"


@pytest.mark.parametrize("name", ["a" * 237, "é" * 119, "nested/" + "ж" * 128])
def test_new_refuses_a_destination_name_the_file_system_cannot_hold(
    tmp_path: Path, name: str
) -> None:
    """255 bytes per name, the staging sibling's 19 extra included; counted in bytes."""
    done = scaffold("new", "-q", name, "--defaults", "--no-lock", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "is too long: the file system allows")
    assert list(tmp_path.iterdir()) == []


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
    created = scaffold("new", "-q", "proj", "--defaults", "--no-lock", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    (tmp_path / "proj" / "scratch.py").write_text("x = 1\n")
    done = scaffold("update", "-q", "proj", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "uncommitted changes")
    assert (tmp_path / "proj" / "scratch.py").read_text() == "x = 1\n"


def _destination_cases(root: Path) -> dict[str, tuple[Path, str]]:
    """Destinations that cannot be written, and what the error line must name."""
    (root / "afile").write_text("keep me")
    (root / "broken").symlink_to(root / "nowhere")
    return {
        "under a regular file": (root / "afile" / "sub", f"{root / 'afile'} is not a directory"),
        "a dangling symbolic link": (root / "broken", "symbolic link to nothing"),
        "a missing directory of /proc": (Path("/proc/no-such/dir"), "cannot create /proc/no-such"),
        "/proc itself": (Path("/proc/scaffold-test"), "cannot write in /proc"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "under a regular file",
        "a dangling symbolic link",
        "a missing directory of /proc",
        "/proc itself",
    ],
)
def test_new_into_an_unwritable_place(tmp_path: Path, case: str) -> None:
    dest, needle = _destination_cases(tmp_path)[case]
    before = sorted(path.name for path in tmp_path.iterdir())
    done = scaffold("new", "-q", dest, "--defaults", "--no-lock", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, needle)
    assert sorted(path.name for path in tmp_path.iterdir()) == before
    assert (tmp_path / "afile").read_text() == "keep me"


def test_new_removes_the_parents_it_made_when_it_fails(tmp_path: Path) -> None:
    dest = tmp_path / "made" / "for" / "it"
    done = scaffold("new", "-q", dest, "--defaults", "-d", "colour=blue", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "unknown question 'colour'")
    assert list(tmp_path.iterdir()) == []


def test_new_with_the_mirror_home_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep me")
    env = {"SCAFFOLD_HOME": str(tmp_path / "afile" / "home")}
    done = scaffold("new", "-q", "proj", "--defaults", "--no-lock", cwd=tmp_path, env=env)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, "set SCAFFOLD_HOME to a writable directory")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile"]


def test_update_with_answers_that_are_not_yaml(tmp_path: Path) -> None:
    created = scaffold("new", "-q", "proj", "--defaults", "--no-lock", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    answers = tmp_path / "proj" / ".copier-answers.yml"
    answers.write_text(answers.read_text() + "colour: [unclosed\n")
    run(["git", "commit", "--quiet", "--all", "--message", "a hand edit"], cwd=tmp_path / "proj")
    broken = answers.read_text()
    done = scaffold("update", "-q", "proj", cwd=tmp_path)
    assert done.returncode == 1
    _assert_one_line_error(done.stderr, ".copier-answers.yml is not valid YAML (line")
    assert "git checkout -- .copier-answers.yml" in done.stderr
    assert answers.read_text() == broken


def test_a_damaged_mirror_is_rebuilt_and_kept_aside(tmp_path: Path) -> None:
    env = {"SCAFFOLD_HOME": str(tmp_path / "home")}
    first = scaffold("new", "-q", "one", "--defaults", "--no-lock", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    (tmp_path / "home" / "template" / ".git" / "HEAD").unlink()

    done = scaffold("new", "-q", "two", "--defaults", "--no-lock", cwd=tmp_path, env=env)

    assert done.returncode == 0, done.stderr
    (warning,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert warning.startswith("warning: the template mirror ")
    assert "was damaged" in warning
    (aside,) = (tmp_path / "home").glob("template.damaged-*")
    assert f"kept at {aside}" in warning
    assert not (aside / ".git" / "HEAD").exists()
    assert (tmp_path / "two" / ".copier-answers.yml").is_file()
    again = scaffold("update", "-q", "two", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_new_stopped_by_a_signal_leaves_nothing(tmp_path: Path, signum: signal.Signals) -> None:
    """Ctrl-C, a CI timeout's SIGTERM or a closed terminal's SIGHUP: the same clean-up."""
    command = [BIN / "scaffold", "new", "-q", "proj", "--defaults", "--no-lock"]
    with (
        sigint_as_in_a_terminal(),
        subprocess.Popen(
            command,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process,
    ):
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if list(tmp_path.glob(".proj.*.scaffold")):
                break
            time.sleep(0.01)
        assert process.poll() is None, "it finished before its staging directory was seen"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum
    assert stderr.splitlines() == ["interrupted; nothing was left behind"]
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_a_signal_unwinds_counts_as_the_interruption() -> None:
    """A library's clean-up that fails during the unwinding (copier's temporary directory,
    still being written by git) is reported as the interruption, not as a traceback."""
    from scaffold.cli.interrupts import Stopped, stopped_by

    def cleanup_failing_under_a_signal() -> None:
        try:
            raise Stopped(signal.SIGTERM)
        except KeyboardInterrupt:
            raise OSError("Directory not empty: '.git'") from None

    with pytest.raises(OSError, match="not empty") as caught:
        cleanup_failing_under_a_signal()
    assert isinstance(stopped_by(caught.value), Stopped)
    assert stopped_by(ValueError("a bug")) is None


def test_ctrl_c_at_a_question_leaves_nothing(tmp_path: Path) -> None:
    """Ctrl-C at copier's first prompt, in a real (pseudo-)terminal: the usual interrupt line
    and 130, not copier's CopierAnswersInterrupt printed as the tuple of its arguments."""
    command: list[str | Path] = [BIN / "scaffold", "new", "proj", "--no-lock"]
    with in_a_terminal(command, tmp_path) as (process, master):
        asked = read_terminal(master, process, b"Project name")
        assert b"Project name" in asked, asked[-2000:]
        os.write(master, b"\x03")  # Ctrl-C: a key in the prompt's raw mode
        rest = read_terminal(master, process)
        assert process.wait(timeout=60) == 128 + signal.SIGINT, rest[-2000:]
    said = rest.decode(errors="replace")
    assert "interrupted; nothing was left behind" in said, said
    assert "AnswersMap" not in said and "Traceback" not in said, said
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "step", "leaves", "done"),
    [
        (["update"], b"Updating from template", "hold part of the update", b"Already up to date"),
        (
            ["feature", "disable", "helm"],
            b"Switching helm off",
            "hold part of the switch",
            b"Switched helm off",
        ),
    ],
)
def test_update_and_feature_ask_nothing_and_ctrl_c_says_how_to_restore(
    tmp_path: Path, command: list[str], step: bytes, leaves: str, done: bytes
) -> None:
    """`update` and `feature` never ask a question (copier runs them with the recorded
    answers): in a terminal they finish with no key typed, and Ctrl-C lands in a step, where
    the interrupt line tells how to restore the last commit, and that works."""
    created = scaffold("new", "-q", "proj", "--defaults", "--no-lock", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "proj"
    head = run(["git", "rev-parse", "HEAD"], cwd=project).stdout

    with in_a_terminal([BIN / "scaffold", *command, project], tmp_path) as (process, master):
        shown = read_terminal(master, process, step)
        assert process.poll() is None, shown[-2000:]
        os.write(master, b"\x03")  # Ctrl-C: SIGINT to the command, as a shell's terminal does
        rest = read_terminal(master, process)
        assert process.wait(timeout=60) == 128 + signal.SIGINT, rest[-2000:]
    said = rest.decode(errors="replace")
    assert f"interrupted; {project} may {leaves}" in said, said
    assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    (restore,) = re.findall(r"`([^`]+)`", said)
    run(["bash", "-c", restore], cwd=project)
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    assert run(["git", "rev-parse", "HEAD"], cwd=project).stdout == head

    with in_a_terminal([BIN / "scaffold", *command, project], tmp_path) as (process, master):
        shown = read_terminal(master, process)
        assert process.wait(timeout=60) == 0, shown[-2000:]
    assert done in shown, shown[-2000:]
    assert "✓".encode() in shown, "a finished step shows its tick on a terminal"
