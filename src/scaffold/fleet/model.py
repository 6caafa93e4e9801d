"""What a fleet is: repositories named on the command line or listed in a YAML or CSV file.

A bad row does not stop the others: it becomes a `Repo` whose `problem` says what is wrong
and where (`fleet.csv:4: …`), and every command reports it as a failed repository.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaffold.errors import FleetError
from scaffold.source import is_url

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_KEYS = ("id", "path", "branch", "group", "answers")
_ANSWER_COLUMN = "answers."  # CSV: one column per answer, e.g. `answers.name`


@dataclass(frozen=True)
class Repo:
    """One repository of the fleet: a local path or a git URL, and what to update it with."""

    id: str
    location: str
    """An absolute path, or a git URL (cloned under the fleet's state directory)."""
    branch: str | None = None
    """The branch updates start from (default: the branch checked out)."""
    group: str | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    """Answers passed to the update (`-d` for this repository)."""
    problem: str | None = None
    """Why this row cannot be used (`file:line: reason`); None for a good row."""

    @property
    def is_url(self) -> bool:
        """Whether `location` is a git URL rather than a local path."""
        return is_url(self.location)


@dataclass(frozen=True)
class Fleet:
    """The repositories, in the order given; bad rows included, with their `problem`."""

    repos: tuple[Repo, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        """One line per bad row."""
        return tuple(repo.problem for repo in self.repos if repo.problem)


def from_paths(paths: Iterable[str | Path]) -> Fleet:
    """A fleet of the paths (or URLs) named on the command line; ids are their base names."""
    rows = [({"path": str(path)}, None) for path in paths]
    return _build(rows, Path.cwd(), "argument")


def load(file: Path) -> Fleet:
    """Read `fleet.yaml` (a list of rows, or `repos:` holding one) or `fleet.csv`.

    Paths are relative to the file's directory. Raises `FleetError` only when the file as
    a whole cannot be read; bad rows come back as repos with a `problem`.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FleetError(f"cannot read fleet file {file}: {error}") from error
    rows = _csv_rows(text, file) if file.suffix.lower() == ".csv" else _yaml_rows(text, file)
    return _build(rows, file.parent.absolute(), file.name)


def _yaml_rows(text: str, file: Path) -> list[tuple[Any, int | None]]:
    """Each row with its line number, read from the YAML node tree so lines are exact."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise FleetError(f"{file}{where}: not valid YAML") from error
    if isinstance(node, yaml.MappingNode):
        node = next((value for key, value in node.value if key.value == "repos"), None)
    if not isinstance(node, yaml.SequenceNode):
        raise FleetError(f"{file}: expected a list of repositories (or `repos:` holding one)")
    loader = yaml.SafeLoader("")
    return [(loader.construct_document(item), item.start_mark.line + 1) for item in node.value]


def _csv_rows(text: str, file: Path) -> list[tuple[Any, int | None]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in _KEYS and not name.startswith(_ANSWER_COLUMN)]
    if unknown or "path" not in header:
        reason = f"unknown column {unknown[0]!r}" if unknown else "no `path` column"
        raise FleetError(f"{file}:1: {reason}; columns: {', '.join(_KEYS[:4])}, answers.NAME")
    rows: list[tuple[Any, int | None]] = []
    for record in reader:
        if None in record:
            rows.append(({"_extra": record[None]}, reader.line_num))
            continue
        row: dict[str, Any] = {}
        answers: dict[str, Any] = {}
        for key, value in record.items():
            if key.startswith(_ANSWER_COLUMN):
                if value:
                    answers[key.removeprefix(_ANSWER_COLUMN)] = yaml.safe_load(value)
            elif value:
                row[key] = value
        if answers:
            row["answers"] = answers
        rows.append((row, reader.line_num))
    return rows


def _build(rows: Sequence[tuple[Any, int | None]], base: Path, origin: str) -> Fleet:
    repos: list[Repo] = []
    seen: set[str] = set()
    for number, (row, line) in enumerate(rows, 1):
        where = f"{origin}:{line}" if line is not None else f"{origin} {number}"
        try:
            repo = _repo(row, base)
        except ValueError as error:
            ident = row.get("id") if isinstance(row, dict) else None
            fallback = f"{origin}:{line}" if line else f"{origin}-{number}"
            repos.append(Repo(str(ident or fallback), "", problem=f"{where}: {error}"))
            continue
        if repo.id in seen:
            repo = Repo(repo.id, repo.location, problem=f"{where}: duplicate id {repo.id!r}")
        seen.add(repo.id)
        repos.append(repo)
    return Fleet(tuple(repos))


def _repo(row: Any, base: Path) -> Repo:
    """A good row as a `Repo`; a bad one raises ValueError with the reason."""
    if not isinstance(row, dict):
        raise ValueError("expected a mapping with at least `path`")
    if "_extra" in row:
        raise ValueError("more cells than columns")
    unknown = sorted(str(key) for key in row if key not in _KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
    location = row.get("path")
    if not isinstance(location, str) or not location.strip():
        raise ValueError("`path` (a directory or a git URL) is missing")
    location = location.strip()
    if not is_url(location):
        location = str((base / Path(location).expanduser()).absolute())
    ident = str(row.get("id") or _default_id(location))
    if not _ID.match(ident):
        raise ValueError(f"id {ident!r} must be letters, digits, '.', '_' or '-'")
    answers = row.get("answers") or {}
    if not isinstance(answers, dict):
        raise ValueError("`answers` must be a mapping of question: value")
    for key in ("branch", "group"):
        if key in row and not isinstance(row[key], str):
            raise ValueError(f"`{key}` must be a string")
    return Repo(
        id=ident,
        location=location,
        branch=row.get("branch"),
        group=row.get("group"),
        answers={str(key): value for key, value in answers.items()},
    )


def _default_id(location: str) -> str:
    name = location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name.removesuffix(".git") or "repo"
