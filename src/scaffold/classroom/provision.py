"""`scaffold class provision`: one generated repository per roster row, first commit made.

Rows with the same answers share one render: the project is made once (render, `uv lock`,
`dvc add` of the starter data, exactly as `scaffold new` does, through `api.create`) into a
prototype, and each student's repository is a copy of it with its own `git init` and first
commit. A copy costs a few git commands instead of a render and a lock. Each repository
is assembled in a hidden sibling and renamed into place, so an interrupted run leaves no
half-made repository; a rerun skips the ones that exist.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scaffold import _git, api, copying
from scaffold.classroom.roster import Student
from scaffold.errors import ExitCode, RepositoryError, ScaffoldError
from scaffold.fleet._work import run_each

FLEET_FILE = "fleet.csv"
BRANCH = "main"


@dataclass(frozen=True)
class Provisioned:
    """One roster row's outcome: created, exists, pushed (an existing repository pushed
    now, e.g. after an earlier push failed) or failed."""

    id: str
    outcome: str
    path: str = ""
    remote: str | None = None
    line: int | None = None
    message: str | None = None
    seconds: float = 0.0

    @property
    def code(self) -> ExitCode:
        """What this row contributes to the exit code (the fleet's codes)."""
        return ExitCode.REPO_FAILED if self.outcome == "failed" else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "id": self.id,
            "line": self.line,
            "outcome": self.outcome,
            "path": self.path,
            "remote": self.remote,
            "seconds": round(self.seconds, 2),
            "message": self.message,
        }

    def row(self) -> dict[str, str]:
        """Flat cells for the table, CSV and Markdown formats."""
        return {
            "id": self.id,
            "result": self.outcome,
            "path": self.path,
            "remote": self.remote or "",
            "message": self.message or "",
        }


def provision(
    students: Sequence[Student],
    out: Path,
    *,
    template: str | None = None,
    vcs_ref: str | None = None,
    lock: bool = True,
    jobs: int = 1,
    on_done: Callable[[Provisioned], None] | None = None,
) -> list[Provisioned]:
    """Make each student's repository under `out/<id>` and write `out/fleet.csv`.

    Prototypes (one per distinct answers) are rendered one after another; the copies,
    commits and pushes run `jobs` at a time.
    """
    out.mkdir(parents=True, exist_ok=True)
    todo = [s for s in students if not s.problem and not (out / s.id).exists()]
    with tempfile.TemporaryDirectory(prefix=".provision-", dir=out) as scratch:
        prototypes = _prototypes(todo, Path(scratch), template, vcs_ref, lock)
        work = partial(_one, out=out, prototypes=prototypes)
        results = run_each(list(students), work, jobs, on_done=on_done)
    write_fleet(out, students, results)
    return results


def _answers_key(answers: Mapping[str, Any]) -> str:
    return json.dumps(dict(answers), sort_keys=True, default=str)


def _prototypes(
    students: Sequence[Student],
    scratch: Path,
    template: str | None,
    vcs_ref: str | None,
    lock: bool,
) -> dict[str, Path | str]:
    """answers key -> a rendered, locked project without `.git`, or why it failed."""
    made: dict[str, Path | str] = {}
    for student in students:
        key = _answers_key(student.answers)
        if key in made:
            continue
        dest = scratch / f"prototype-{len(made)}"
        try:
            created = api.create(
                dest,
                student.answers,
                defaults=True,
                template=template,
                vcs_ref=vcs_ref,
                git_init=False,
                lock=lock,
            )
        except ScaffoldError as error:
            made[key] = error.message
            continue
        made[key] = created.path
        if created.lock_problem:
            (dest / ".lock-problem").write_text(created.lock_problem, encoding="utf-8")
    return made


def _one(student: Student, out: Path, prototypes: Mapping[str, Path | str]) -> Provisioned:
    """One row: its repository made (or found) and pushed; problems become `failed`."""
    start = time.monotonic()
    done = partial(Provisioned, student.id, line=student.line, remote=student.remote)
    if student.problem:
        return done("failed", message=student.problem)
    dest = out / student.id
    try:
        if dest.exists():
            outcome, message = _existing(dest, student.remote)
            return done(outcome, str(dest), message=message, seconds=time.monotonic() - start)
        prototype = prototypes[_answers_key(student.answers)]
        if isinstance(prototype, str):
            return done("failed", message=f"line {student.line}: {prototype}")
        note = _lock_note(prototype)
        _assemble(prototype, dest, student.answers)
        if student.remote:
            _push(dest, student.remote)
        return done("created", str(dest), message=note, seconds=time.monotonic() - start)
    except ScaffoldError as error:
        where = str(dest) if dest.exists() else ""
        return done("failed", where, message=error.message, seconds=time.monotonic() - start)


def _lock_note(prototype: Path) -> str | None:
    problem = prototype / ".lock-problem"
    return f"not locked: {problem.read_text(encoding='utf-8')}" if problem.exists() else None


def _assemble(prototype: Path, dest: Path, answers: Mapping[str, Any]) -> None:
    """Copy the prototype into a hidden sibling, commit it, and rename it to `dest`."""
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".scaffold", dir=dest.parent))
    try:
        shutil.copytree(
            prototype, staging, symlinks=True, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".lock-problem"),
        )  # fmt: skip
        _git.init(staging)
        project = copying.read_answers(staging)
        author = (
            str(project.get("author_name", "scaffold")),
            str(project.get("author_email", "scaffold@localhost")),
        )
        _git.initial_commit(staging, f"Initial commit from mlops-scaffold {api.version()}", author)
        os.replace(staging, dest)  # fails if dest appeared meanwhile: it is never overwritten
    except OSError as error:
        raise RepositoryError(f"cannot create {dest}: {error.strerror or error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _existing(dest: Path, remote: str | None) -> tuple[str, str | None]:
    """A repository that exists: left as it is, except for a push that never happened."""
    if not _git.is_work_tree(dest) or not (dest / copying.ANSWERS_FILE).is_file():
        raise RepositoryError(f"{dest} exists and is not a generated repository: not touched")
    if not remote:
        return "exists", None
    origin = _git.git("remote", "get-url", "origin", cwd=dest, check=False)
    if origin and origin != remote:
        return "exists", f"its origin is {origin}, not {remote}: not changed"
    pushed = _git.git("ls-remote", "--heads", remote, BRANCH, cwd=dest, check=False)
    if origin and pushed:
        return "exists", None
    _push(dest, remote)
    return "pushed", None


def _push(repo: Path, remote: str) -> None:
    """Add `remote` as origin (a missing local bare repository is created) and push main."""
    bare = _local_path(remote)
    if bare is not None and not bare.exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git.git("init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(bare))
    if not _git.git("remote", "get-url", "origin", cwd=repo, check=False):
        _git.git("remote", "add", "origin", remote, cwd=repo)
    try:
        _git.git("push", "--quiet", "--set-upstream", "origin", BRANCH, cwd=repo)
    except RepositoryError as error:
        raise RepositoryError(
            f"{repo} was created but not pushed to {remote} ({error.message}); rerun to push"
        ) from error


def _local_path(remote: str) -> Path | None:
    """The directory of a `file://` URL or a plain path remote; None for a network URL."""
    if remote.startswith("file://"):
        return Path(urlparse(remote).path)
    if "://" in remote or ":" in remote.split("/", 1)[0]:
        return None
    return Path(remote).expanduser().absolute()


def write_fleet(out: Path, students: Sequence[Student], results: Sequence[Provisioned]) -> Path:
    """`out/fleet.csv`: every repository of the class, for `scaffold status`, `apply` and the
    `class` commands. A repository with a remote is listed by its remote (students push
    there); rows of an earlier roster that this one does not name are kept."""
    file = out / FLEET_FILE
    rows: dict[str, dict[str, str]] = {}
    if file.is_file():
        with file.open(encoding="utf-8", newline="") as handle:
            rows = {row["id"]: row for row in csv.DictReader(handle) if row.get("id")}
    for student, result in zip(students, results, strict=True):
        if result.outcome == "failed":
            continue
        location = student.remote or f"./{student.id}"
        rows[student.id] = {"id": student.id, "path": location, "branch": BRANCH}
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["id", "path", "branch"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {key: row.get(key, "") for key in ("id", "path", "branch")} for row in rows.values()
    )
    partial_file = out / f".{FLEET_FILE}.tmp"
    partial_file.write_text(text.getvalue(), encoding="utf-8")
    os.replace(partial_file, file)
    return file
