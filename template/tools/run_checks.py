"""`make check`: run every check that applies to this project, then print one table.

The Makefile passes one argument per check, ``NAME=COUNTER COMMAND``: its CHECKS list names
them and ``CHECK.<name>`` holds ``COUNTER COMMAND`` (each feature's file in make/ adds its
own). Every check runs, in order, even after one has failed; each one's output goes to
``build/check/<name>.log``. The table gives each check's result, a count read from its output
by COUNTER (see :data:`COUNTERS`) and its time. The exit status is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG_DIR = Path("build/check")
TAIL_LINES = 15


def json_items(output: str) -> list[Any]:
    """The JSON array printed (findings), or the keys of the object (e.g. changed stages)."""
    printed = json.loads(output)
    if not isinstance(printed, (list, dict)):
        raise ValueError("expected a JSON array or object")
    return list(printed)


def json_lines(output: str) -> list[Any]:
    """One JSON object a line, one finding each (e.g. `mypy --output json`)."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def checkov_failed(output: str) -> list[Any]:
    """The failed policies in checkov's JSON report (one object, or one per framework)."""
    printed = json.loads(output)
    reports = printed if isinstance(printed, list) else [printed]
    return [item for one in reports for item in one["results"]["failed_checks"]]


def text_lines(output: str) -> list[Any]:
    """The non-empty lines printed, one finding each (e.g. `actionlint -oneline`)."""
    return [line for line in output.splitlines() if line.strip()]


def pytest_passed(output: str) -> int:
    """Tests passed, from pytest's closing summary line."""
    found = re.findall(r"(\d+) passed", output)
    if not found:
        raise ValueError("no pytest summary line")
    return int(found[-1])


@dataclass(frozen=True)
class Counter:
    """How to read a check's output: what it counts, and the items (findings) if listed."""

    unit: str
    items: Callable[[str], list[Any]] | None = None
    number: Callable[[str], int] | None = None

    def count(self, output: str) -> int:
        """The number for the table; ValueError (or KeyError, TypeError) if unreadable."""
        if self.number:
            return self.number(output)
        if self.items:
            return len(self.items(output))
        raise ValueError(f"counter {self.unit!r} reads neither items nor a number")


# COUNTER (the first word of CHECK.<name>) → how to count the command's standard output.
COUNTERS: dict[str, Counter] = {
    "findings": Counter("findings", items=json_items),
    "lines": Counter("findings", items=text_lines),
    "json-lines": Counter("findings", items=json_lines),
    "changed": Counter("changed", items=json_items),
    "checkov": Counter("findings", items=checkov_failed),
    "passed": Counter("passed", number=pytest_passed),
}
_PATH_KEYS = ("filename", "filepath", "path", "file", "file_path")
_CODE_KEYS = ("code", "symbol", "kind", "ident", "check_id")
_TEXT_KEYS = ("message", "desc", "check_name")


def _first(item: dict[str, Any], keys: Sequence[str]) -> str:
    return next((str(item[key]) for key in keys if item.get(key) not in (None, "")), "")


def describe(item: Any) -> str:
    """One line for a finding of ruff, pylint, hadolint, actionlint, zizmor or checkov."""
    if not isinstance(item, dict):
        return str(item)
    path = _first(item, _PATH_KEYS)
    line = item.get("line") or (item.get("location") or {}).get("row")
    line = line or (item.get("file_line_range") or [None])[0]
    where = f"{path}:{line}" if path and line else path
    return " ".join(
        part for part in (where, _first(item, _CODE_KEYS), _first(item, _TEXT_KEYS)) if part
    )


@dataclass(frozen=True)
class Check:
    """One check: its name, how to count its output, and the shell command that runs it."""

    name: str
    counter: str
    command: str

    @classmethod
    def parse(cls, spec: str) -> Check:
        """``NAME=COUNTER COMMAND``, as the Makefile writes it."""
        name, _, rest = spec.partition("=")
        counter, _, command = rest.strip().partition(" ")
        if not name or not command.strip():
            raise ValueError(f"{spec!r}: expected NAME=COUNTER COMMAND")
        if counter not in COUNTERS:
            known = ", ".join(COUNTERS)
            raise ValueError(f"{name}: unknown counter {counter!r} (known: {known})")
        return cls(name, counter, command.strip())


@dataclass(frozen=True)
class Outcome:
    """What one check gave: exit status, count (None if unreadable), time and output."""

    check: Check
    returncode: int
    count: int | None
    seconds: float
    stdout: str
    stderr: str

    @property
    def passed(self) -> bool:
        """Whether the check passed (its command exited with status 0)."""
        return self.returncode == 0

    def summary(self, limit: int = TAIL_LINES) -> list[str]:
        """Why it failed, in a few lines: its findings if readable, else its output's end."""
        items = COUNTERS[self.check.counter].items
        try:
            found = items(self.stdout) if items else []
        except (ValueError, KeyError, TypeError):
            found = []
        if found:
            more = [f"... and {len(found) - limit} more"] if len(found) > limit else []
            return [describe(item) for item in found[:limit]] + more
        return (self.stdout + self.stderr).strip().splitlines()[-limit:]

    def row(self) -> tuple[str, str, str, str]:
        """The table's cells: check, result, count, time."""
        unit = COUNTERS[self.check.counter].unit
        count = "-" if self.count is None else f"{self.count} {unit}"
        return (
            self.check.name,
            "PASS" if self.passed else "FAIL",
            count,
            f"{self.seconds:.1f} s",
        )


def run(check: Check, log_dir: Path) -> Outcome:
    """Run one check's command with the shell, its output captured and logged."""
    start = time.monotonic()
    done = subprocess.run(
        check.command,
        shell=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    try:
        count: int | None = COUNTERS[check.counter].count(done.stdout)
    except (ValueError, KeyError, TypeError):  # json.JSONDecodeError is a ValueError
        count = None
    log_dir.mkdir(parents=True, exist_ok=True)
    log = f"$ {check.command}\n{done.stdout}{done.stderr}"
    (log_dir / f"{check.name}.log").write_text(log, encoding="utf-8")
    return Outcome(check, done.returncode, count, seconds, done.stdout, done.stderr)


def table(outcomes: Sequence[Outcome]) -> str:
    """The results as an aligned text table with a header."""
    rows = [("check", "result", "count", "time"), *(outcome.row() for outcome in outcomes)]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def report(outcomes: Sequence[Outcome], log_dir: Path) -> str:
    """The table, a summary line, and why each failed check failed."""
    failed = [outcome for outcome in outcomes if not outcome.passed]
    lines = [
        table(outcomes),
        "",
        f"{len(outcomes)} checks, {len(failed)} failed (logs in {log_dir}/)",
    ]
    for outcome in failed:
        lines += [
            "",
            f"── {outcome.check.name}: exit status {outcome.returncode}, "
            f"full output in {log_dir / outcome.check.name}.log",
            f"$ {outcome.check.command}",
            *outcome.summary(),
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks given as arguments; 0 when all passed, 1 otherwise, 2 on bad usage."""
    parser = argparse.ArgumentParser(prog="run_checks", description=__doc__.splitlines()[0])
    parser.add_argument("checks", nargs="+", metavar="NAME=COUNTER COMMAND")
    parser.add_argument("--log-dir", type=Path, default=LOG_DIR)
    args = parser.parse_args(argv)
    try:
        checks = [Check.parse(spec) for spec in args.checks]
    except ValueError as error:
        parser.error(str(error))
    names = [check.name for check in checks]
    if len(set(names)) < len(names):
        parser.error(f"a check is named twice: {' '.join(names)}")
    outcomes = []
    for check in checks:
        print(f"check: {check.name} …", file=sys.stderr, flush=True)
        outcomes.append(run(check, args.log_dir))
    print(report(outcomes, args.log_dir))
    return 0 if all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
