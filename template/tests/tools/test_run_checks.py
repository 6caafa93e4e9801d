"""The runner behind `make check`: every check runs, each row is right, failures explained."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tools import run_checks

PYTHON = shlex.quote(sys.executable)


def _printing(payload: object, status: int = 0) -> str:
    """A shell command that prints `payload` as JSON and exits with `status`."""
    code = f"import json, sys; print(json.dumps({payload!r})); sys.exit({status})"
    return f"{PYTHON} -c {shlex.quote(code)}"


def test_every_check_runs_and_a_failure_fails_the_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing check fails the run, the checks after it still run, each row counts."""
    finding = {"filename": "src/a.py", "location": {"row": 3}, "code": "F401", "message": "unused"}
    status = run_checks.main(
        [
            "--log-dir",
            str(tmp_path),
            f"lint=findings {_printing([finding], status=1)}",
            f"stages=changed {_printing({'prepare': [], 'train': []})}",
            f"tests=passed {PYTHON} -c 'print(\"7 passed in 0.1s\")'",
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:4]}
    assert rows == {
        "lint": ["FAIL", "1", "findings"],
        "stages": ["PASS", "2", "changed"],
        "tests": ["PASS", "7", "passed"],
    }
    assert "3 checks, 1 failed" in out
    assert "src/a.py:3 F401 unused" in out
    assert (tmp_path / "tests.log").read_text(encoding="utf-8").endswith("7 passed in 0.1s\n")


def test_all_passing_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No failure, exit status 0."""
    assert run_checks.main(["--log-dir", str(tmp_path), f"lint=findings {_printing([])}"]) == 0
    assert "1 checks, 0 failed" in capsys.readouterr().out


def test_unreadable_output_shows_no_count_and_its_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tool that crashes instead of printing JSON: no count, the end of its output."""
    command = f"{PYTHON} -c 'import sys; sys.exit(\"tool crashed\")'"
    assert run_checks.main(["--log-dir", str(tmp_path), f"tool=findings {command}"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[:3] == ["tool", "FAIL", "-"]
    assert out.rstrip().endswith("tool crashed")


def test_checkov_counts_failed_policies_across_frameworks() -> None:
    """checkov prints one report per framework: their failed policies add up."""
    failed = {"check_id": "CKV_1", "check_name": "no root", "file_path": "/Dockerfile"}
    results = {"failed_checks": [failed, failed]}
    clean: dict[str, list[object]] = {"failed_checks": []}
    output = json.dumps([{"results": results}, {"results": clean}])
    assert run_checks.COUNTERS["checkov"].count(output) == 2
    assert run_checks.describe({**failed, "file_line_range": [4, 5]}) == (
        "/Dockerfile:4 CKV_1 no root"
    )


def test_long_lists_of_findings_are_cut(tmp_path: Path) -> None:
    """A failed check lists a few findings, then how many more."""
    check = run_checks.Check.parse(f"many=findings {_printing(list(range(40)))}")
    outcome = run_checks.run(check, tmp_path)
    assert outcome.count == 40
    assert outcome.summary(limit=3) == ["0", "1", "2", "... and 37 more"]


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("lint", "expected NAME=COUNTER COMMAND"),
        ("lint=findings", "expected NAME=COUNTER COMMAND"),
        ("lint=words ruff check", "unknown counter 'words'"),
    ],
)
def test_a_bad_check_is_one_usage_error(
    spec: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed check from the Makefile: one line on stderr, exit status 2."""
    with pytest.raises(SystemExit) as stopped:
        run_checks.main([spec])
    assert stopped.value.code == 2
    assert complaint in capsys.readouterr().err


def test_a_name_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """Two checks with one name would share a log file."""
    with pytest.raises(SystemExit):
        run_checks.main(["a=findings true", "a=findings true"])
    assert "a check is named twice" in capsys.readouterr().err


def test_a_counter_needs_something_to_read() -> None:
    """A counter that reads nothing is a programming error, not a silent zero."""
    with pytest.raises(ValueError, match="reads neither"):
        run_checks.Counter("nothing").count("")


def test_lines_counts_one_finding_per_non_empty_line() -> None:
    """`actionlint -oneline` prints one error a line."""
    output = ".github/workflows/ci.yml:3:5: bad [syntax-check]\n\n"
    assert run_checks.COUNTERS["lines"].count(output * 2) == 2


def test_json_lines_counts_one_finding_per_object() -> None:
    """`mypy --output json` prints one JSON object an error, and nothing when clean."""
    error = {"file": "src/a.py", "line": 3, "code": "arg-type", "message": "bad argument"}
    output = f"{json.dumps(error)}\n{json.dumps(error)}\n"
    assert run_checks.COUNTERS["json-lines"].count(output) == 2
    assert run_checks.COUNTERS["json-lines"].count("") == 0
    assert run_checks.describe(error) == "src/a.py:3 arg-type bad argument"
