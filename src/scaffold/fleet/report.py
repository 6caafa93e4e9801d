"""Fleet results as text: an aligned table, JSON, CSV or Markdown; and the fleet's exit code.

Each result has `to_dict()` (JSON) and `row()` (flat cells, the same columns for every
repository); these functions only lay them out, so every fleet command, and the course
commands later, print the same four formats.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from scaffold.errors import ExitCode

SCHEMA = 1
"""Version of the fleet commands' JSON: raised when a key changes meaning or goes."""
FORMATS = ("table", "json", "csv", "md")
SEVERITY = (
    ExitCode.REPO_FAILED,
    ExitCode.VERIFY_FAILED,
    ExitCode.CONFLICTS,
    ExitCode.PENDING,
    ExitCode.OK,
)
"""The fleet's exit code is its repositories' most severe code, in this order."""


class Result(Protocol):
    """What every per-repository result offers."""

    @property
    def code(self) -> ExitCode: ...

    def to_dict(self) -> dict[str, Any]: ...

    def row(self) -> dict[str, str]: ...


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The most severe code (`SEVERITY` order); OK for an empty fleet."""
    found = set(codes)
    return next((code for code in SEVERITY if code in found), ExitCode.OK)


def render(command: str, results: Sequence[Result], fmt: str, **meta: Any) -> str:
    """The results of `command` in format `fmt`; `meta` goes into the JSON object."""
    if fmt == "json":
        return json.dumps(
            {
                "schema": SCHEMA,
                "command": command,
                **meta,
                "exit_code": int(worst(result.code for result in results)),
                "repos": [result.to_dict() for result in results],
            },
            indent=2,
            default=str,
        )
    rows = [result.row() for result in results]
    if fmt == "csv":  # every column, always: scripts index them
        out = io.StringIO()
        fields = list(rows[0]) if rows else ["id"]
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    columns = _columns(rows)
    if fmt == "md":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_md(row[c]) for c in columns) + " |" for row in rows]
        return "\n".join(lines)
    return _table(columns, rows)


def _columns(rows: Sequence[dict[str, str]]) -> list[str]:
    """Every column of the first row that is not empty in all rows (the id always stays)."""
    if not rows:
        return ["id"]
    return [c for c in rows[0] if c == "id" or any(row.get(c) for row in rows)]


def _table(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    widths = {c: max([len(c), *(len(row[c]) for row in rows)]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(row[c].ljust(widths[c]) for c in columns).rstrip() for row in rows]
    return "\n".join(lines)


def _md(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def summary(results: Sequence[Result]) -> str:
    """One line: how many repositories per exit code, e.g. `3 repos: 1 ok, 2 pending`."""
    names = {
        ExitCode.OK: "ok",
        ExitCode.PENDING: "pending",
        ExitCode.CONFLICTS: "conflicts",
        ExitCode.REPO_FAILED: "failed",
        ExitCode.VERIFY_FAILED: "verify failed",
    }
    counts = {code: sum(1 for r in results if r.code == code) for code in reversed(SEVERITY)}
    parts = [f"{count} {names[code]}" for code, count in counts.items() if count]
    return f"{len(results)} repos: {', '.join(parts) or 'none'}"
