"""`scaffold class status`: one row per student, for a spreadsheet.

Template version and how far behind (from the fleet's `status`), the last commit (date and
short hash), the result of `make test` in a clean worktree (only when asked: it installs
the project, which takes a while per repository), and whether the pipeline ran on what is
committed (`pipeline.pipeline_state`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from scaffold import _git
from scaffold.classroom.pipeline import pipeline_state
from scaffold.errors import ExitCode
from scaffold.fleet._work import Verify, run_each, verify_clean
from scaffold.fleet.model import Repo
from scaffold.fleet.status import RepoStatus, status_one

TEST_COMMAND = "make test"
NOT_RUN = "not run"


@dataclass(frozen=True)
class StudentStatus:
    """One student's repository at a glance."""

    fleet: RepoStatus
    last_commit: str = ""
    """`YYYY-MM-DD hash` of the commit looked at."""
    test: Verify | None = None
    pipeline: str = ""

    @property
    def id(self) -> str:
        """The student's id."""
        return self.fleet.id

    @property
    def code(self) -> ExitCode:
        """As the fleet's `status`, with a failed `make test` counted as a failed verify."""
        if self.test is not None and not self.test.ok and self.fleet.code != ExitCode.REPO_FAILED:
            return ExitCode.VERIFY_FAILED
        return self.fleet.code

    def test_cell(self) -> str:
        """`passed`, `failed (2)` or `not run`."""
        if self.test is None:
            return NOT_RUN
        return "passed" if self.test.ok else f"failed ({self.test.returncode})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: the fleet status's, plus this command's columns."""
        return {
            **self.fleet.to_dict(),
            "last_commit": self.last_commit or None,
            "test": self.test.to_dict() if self.test else None,
            "pipeline": self.pipeline or None,
        }

    def row(self) -> dict[str, str]:
        """The CSV columns, keyed by student id."""
        return {
            "id": self.id,
            "version": self.fleet.version or "",
            "latest": self.fleet.latest or "",
            "behind": "" if self.fleet.behind is None else str(self.fleet.behind),
            "last commit": self.last_commit,
            "make test": "" if self.fleet.error else self.test_cell(),
            "pipeline": self.pipeline,
            "error": self.fleet.error or "",
        }


def class_status(
    repos: Sequence[Repo],
    state: Path,
    *,
    test: bool = False,
    jobs: int = 1,
    on_done: Callable[[StudentStatus], None] | None = None,
) -> list[StudentStatus]:
    """The status of every student's repository (`state` holds clones of remotes)."""
    work = partial(student_status, state=state, test=test)
    return run_each(list(repos), work, jobs, on_done=on_done)


def student_status(repo: Repo, state: Path, test: bool = False) -> StudentStatus:
    """One repository's row; problems become its error, never an exception."""
    found = status_one(repo, state)
    if found.error:
        return StudentStatus(found)
    path = Path(found.path)
    ref = repo.branch or "HEAD"
    if repo.is_url and repo.branch:
        ref = "HEAD"  # the clone is reset to the remote branch
    last = _git.git("log", "-1", "--format=%cs %h", ref, cwd=path, check=False)
    checked = verify_clean(TEST_COMMAND, path, ref) if test else None
    return StudentStatus(found, last, checked, pipeline_state(path, ref))
