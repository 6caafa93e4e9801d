"""A course roster: `roster.csv` with one row per student (or group).

Columns: `id` (required: the repository's directory name), `remote` (optional: where the
repository is pushed, a `file://` path or any git URL) and, optionally, one column per
template question (`project_name`, `python_version`…) holding that row's answer. A bad row
does not stop the others: it comes back with its `problem`, which names the line
(`roster.csv:4: duplicate id 'ana'`). Only a file that cannot be read at all raises.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaffold import options
from scaffold.errors import FleetError, InvalidAnswerError

ID_COLUMN = "id"
REMOTE_COLUMN = "remote"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # as a fleet id: also a safe directory name
_ID_MAX = 100
RESERVED_IDS = frozenset({"fleet.csv"})
"""Names the class directory uses for itself."""


@dataclass(frozen=True)
class Student:
    """One roster row: an id, an optional remote, and the answers for that repository."""

    id: str
    line: int
    remote: str | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    problem: str | None = None
    """Why this row cannot be used (`roster.csv:4: reason`); None for a good row."""


def read(file: Path, questions: Iterable[options.Question]) -> list[Student]:
    """Every row of `file`, good or bad, in order; blank lines are skipped.

    `questions` are the template's: a column must be `id`, `remote` or one of them.
    Raises `FleetError` when the file cannot be read or has no `id` column.
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FleetError(f"cannot read roster {file}: {error}") from error
    return parse(text, file.name, questions)


def parse(text: str, name: str, questions: Iterable[options.Question]) -> list[Student]:
    """The rows of a roster's text; `name` prefixes the line numbers in problems."""
    askable = {q.name: q for q in questions if not q.computed}
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in reader.fieldnames or []]
    if ID_COLUMN not in header:
        raise FleetError(f"{name}:1: no `{ID_COLUMN}` column (columns: id, remote, QUESTION…)")
    if len(set(header)) != len(header):
        twice = next(column for column in header if header.count(column) > 1)
        raise FleetError(f"{name}:1: column {twice!r} appears twice")
    reader.fieldnames = header
    students: list[Student] = []
    seen: set[str] = set()
    for record in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in record.values() if isinstance(value, str)):
            continue
        ident = (record.get(ID_COLUMN) or "").strip()
        try:
            student = _student(record, line, askable)
        except ValueError as error:
            students.append(
                Student(ident or f"line-{line}", line, problem=f"{name}:{line}: {error}")
            )
            continue
        if student.id.lower() in seen:  # Ana and ana are one directory on some file systems
            student = Student(
                student.id, line, problem=f"{name}:{line}: duplicate id {student.id!r}"
            )
        seen.add(student.id.lower())
        students.append(student)
    return students


def _student(
    record: dict[str | None, Any], line: int, askable: Mapping[str, options.Question]
) -> Student:
    """A good row as a `Student`; a bad one raises ValueError with the reason."""
    if None in record:
        raise ValueError("more cells than columns")
    ident = (record.get(ID_COLUMN) or "").strip()
    if not ident:
        raise ValueError("`id` is empty")
    if not _ID.match(ident) or len(ident) > _ID_MAX or ident in RESERVED_IDS:
        raise ValueError(
            f"id {ident!r} cannot name a repository directory: use letters, digits, '.', '_'"
            f" or '-' (at most {_ID_MAX}, not starting with '.', '_' or '-')"
        )
    remote = (record.get(REMOTE_COLUMN) or "").strip() or None
    answers: dict[str, Any] = {}
    for column, cell in record.items():
        value = (cell or "").strip()
        if column in (ID_COLUMN, REMOTE_COLUMN) or column is None or not value:
            continue
        question = askable.get(column)
        if question is None:
            hint = difflib.get_close_matches(column, list(askable), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(
                f"unknown column {column!r}{suggestion}: columns are id, remote"
                " and the template's questions (`scaffold options`)"
            )
        answers[column] = _typed(value, question)
    try:
        options.check_answers(answers, askable.values())
    except InvalidAnswerError as error:
        raise ValueError(error.message) from error
    return Student(ident, line, remote, answers)


def _typed(value: str, question: options.Question) -> Any:
    """A cell as the question's type: text stays text (`3.10` is not the number 3.1)."""
    if question.type == "str":
        return value
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise ValueError(f"{question.name}: {value!r} is not a {question.type}") from error
    wrong = {
        "bool": not isinstance(loaded, bool),
        "int": not isinstance(loaded, int) or isinstance(loaded, bool),
        "float": not isinstance(loaded, int | float) or isinstance(loaded, bool),
    }
    if wrong.get(question.type, False):
        raise ValueError(f"{question.name}: {value!r} is not a {question.type}")
    return loaded
