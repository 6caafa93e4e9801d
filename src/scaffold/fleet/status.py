"""`scaffold status`: where each repository of a fleet stands, without changing any of them.

The cheap fields cost a handful of git commands per repository (~30 ms); `deep` adds one
render of the project's current template version (the user-deleted files), and `verify`
a clean worktree and the command's own time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from scaffold import _git
from scaffold.errors import ExitCode, ScaffoldError
from scaffold.fleet import _template
from scaffold.fleet._work import Verify, locate, run_each, verify_clean
from scaffold.fleet.model import Repo
from scaffold.project import Project

_MARKERS = ("-e", "^<<<<<<< ", "-e", "^>>>>>>> ")


@dataclass(frozen=True)
class RepoStatus:
    """One repository's state. Lists are sorted paths relative to the repository."""

    id: str
    path: str
    group: str | None = None
    version: str | None = None
    latest: str | None = None
    behind: int | None = None
    """Versions between `version` and `latest`; None when `version` is not a known tag."""
    dirty: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    """Files holding conflict markers, and `.rej` files."""
    deleted: tuple[str, ...] | None = None
    """Template files the user deleted (they get no updates); None when not checked."""
    update_branches: tuple[str, ...] = ()
    verify: Verify | None = None
    error: str | None = None

    @property
    def state(self) -> str:
        """One word: failed, verify-failed, conflicted, behind, current or unknown."""
        if self.error:
            return "failed"
        if self.verify and not self.verify.ok:
            return "verify-failed"
        if self.conflicts:
            return "conflicted"
        if self.behind is None:
            return "unknown"
        return "behind" if self.behind else "current"

    @property
    def code(self) -> ExitCode:
        """What this repository contributes to the exit code."""
        return {
            "failed": ExitCode.REPO_FAILED,
            "verify-failed": ExitCode.VERIFY_FAILED,
            "conflicted": ExitCode.CONFLICTS,
            "behind": ExitCode.PENDING,
        }.get(self.state, ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "id": self.id,
            "path": self.path,
            "group": self.group,
            "state": self.state,
            "version": self.version,
            "latest": self.latest,
            "behind": self.behind,
            "dirty": list(self.dirty),
            "conflicts": list(self.conflicts),
            "deleted": None if self.deleted is None else list(self.deleted),
            "update_branches": list(self.update_branches),
            "verify": self.verify.to_dict() if self.verify else None,
            "error": self.error,
        }

    def row(self) -> dict[str, str]:
        """Flat cells for the table, CSV and Markdown formats."""
        return {
            "id": self.id,
            "state": self.state,
            "version": self.version or "",
            "latest": self.latest or "",
            "behind": "" if self.behind is None else str(self.behind),
            "dirty": str(len(self.dirty)) if self.dirty else "",
            "conflicts": " ".join(self.conflicts),
            "deleted": "" if self.deleted is None else " ".join(self.deleted),
            "update branch": " ".join(self.update_branches),
            "verify": self.verify.cell() if self.verify else "",
            "error": self.error or "",
        }


def status(
    repos: Sequence[Repo],
    state: Path,
    *,
    deep: bool = False,
    verify: str | None = None,
    jobs: int = 1,
    on_done: Callable[[RepoStatus], None] | None = None,
) -> list[RepoStatus]:
    """The status of every repository; `state` holds clones of repositories given by URL.

    `deep` renders templates (copier), so it runs in processes; the rest in threads.
    """
    work = partial(status_one, state=state, deep=deep, verify=verify)
    return run_each(list(repos), work, jobs, processes=deep, on_done=on_done)


def status_one(
    repo: Repo, state: Path, deep: bool = False, verify: str | None = None
) -> RepoStatus:
    """The status of one repository; problems become its `error`, never an exception."""
    if repo.problem:
        return RepoStatus(repo.id, repo.location, repo.group, error=repo.problem)
    try:
        path = locate(repo, state)
        return _inspect(repo, path, deep, verify)
    except ScaffoldError as error:
        return RepoStatus(repo.id, repo.location, repo.group, error=error.message)


def _inspect(repo: Repo, path: Path, deep: bool, verify: str | None) -> RepoStatus:
    project = Project.load(path)
    src, version = project.src, project.version
    available = _template.versions(src)
    deleted = None
    if deep:
        files = _template.rendered(src, version, project.answers)
        present = set(_git.listed_files(path))
        deleted = tuple(sorted(name for name in files if name not in present))
    return RepoStatus(
        id=repo.id,
        path=str(path),
        group=repo.group,
        version=version,
        latest=available[-1] if available else None,
        behind=_template.behind(version, available),
        dirty=tuple(_git.dirty_files(path)),
        conflicts=conflict_files(path),
        deleted=deleted,
        update_branches=update_branches(path),
        verify=verify_clean(verify, path) if verify else None,
    )


def conflict_files(path: Path) -> tuple[str, ...]:
    """Tracked or untracked files with conflict markers, and `.rej` files (two git calls)."""
    marked = _git.git(
        "grep", "-l", "-I", "--untracked", "-E", *_MARKERS, cwd=path, check=False
    ).splitlines()
    listed = _git.git("ls-files", "--cached", "--others", "--exclude-standard", cwd=path)
    rejects = [name for name in listed.splitlines() if name.endswith(".rej")]
    return tuple(sorted({*marked, *rejects}))


def update_branches(path: Path) -> tuple[str, ...]:
    """Local and remote-tracking `scaffold/update-*` branches."""
    refs = _git.git(
        "for-each-ref",
        "--format=%(refname:short)",
        "refs/heads/scaffold/update-*",
        "refs/remotes/*/scaffold/update-*",
        cwd=path,
    )
    return tuple(sorted(refs.splitlines()))
