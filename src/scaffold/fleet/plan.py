"""`scaffold plan`: each repository's update, run in a throwaway clone, as a patch.

The repositories are not written to: the update runs in a throwaway `git clone --shared`
at the base commit (no object copied, nothing recorded in the repository, not even the
bookkeeping of a `git worktree`), deleted afterwards. To class each file, the plan also renders the
template at the project's version and at the target with the project's answers (two
`copier copy` runs, on top of the two that `copier update` makes): a file the user had
changed is "merged", not "updated", and one copier deletes though the user changed it is
"removed-but-modified" (copier deletes it all the same: the edits survive only in history).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from scaffold import _git, api, copying
from scaffold.errors import ExitCode, ScaffoldError
from scaffold.fleet import _template
from scaffold.fleet._work import locate, run_each, throwaway_clone
from scaffold.fleet.model import Repo
from scaffold.project import Project

KINDS = (
    "added",
    "updated",
    "merged",
    "conflict",
    "removed",
    "removed-but-modified",
    "user-deleted",
    "relocked",
)
"""How a file fares in an update. `merged`: the user's edits and the template's change
were merged without conflict. `user-deleted`: the template still has it, the user
deleted it, and copier leaves it deleted (it gets no updates). `relocked`: a lock file that
the update rewrote because pyproject.toml changed."""


@dataclass(frozen=True)
class RepoPlan:
    """One repository's planned update."""

    id: str
    path: str
    group: str | None = None
    old_version: str | None = None
    new_version: str | None = None
    files: tuple[tuple[str, str], ...] = ()
    """(path, kind) pairs, sorted by path; kinds from `KINDS`."""
    patch: str | None = None
    """The patch file written (`git apply`-able on the base), or None when not written."""
    error: str | None = None

    def paths(self, kind: str) -> tuple[str, ...]:
        """The files of one kind."""
        return tuple(name for name, found in self.files if found == kind)

    @property
    def code(self) -> ExitCode:
        """What this repository contributes to the exit code."""
        if self.error:
            return ExitCode.REPO_FAILED
        if self.paths("conflict"):
            return ExitCode.CONFLICTS
        return ExitCode.PENDING if self.files else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "id": self.id,
            "path": self.path,
            "group": self.group,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "files": [{"path": name, "kind": kind} for name, kind in self.files],
            "patch": self.patch,
            "error": self.error,
        }

    def row(self) -> dict[str, str]:
        """Flat cells: counts per kind."""
        counts = {kind: str(len(self.paths(kind)) or "") for kind in KINDS}
        return {
            "id": self.id,
            "from": self.old_version or "",
            "to": self.new_version or "",
            **counts,
            "patch": self.patch or "",
            "error": self.error or "",
        }


def plan(
    repos: Sequence[Repo],
    to: str | None,
    out: Path,
    *,
    jobs: int = 1,
    on_done: Callable[[RepoPlan], None] | None = None,
) -> list[RepoPlan]:
    """Plan the update of every repository to template ref `to` (None: the newest).

    Patches go to `out/<id>.patch`; clones of repositories given by URL under `out`.
    Copier runs here, so the repositories are spread over processes.
    """
    work = partial(plan_one, to=to, out=out)
    return run_each(list(repos), work, jobs, processes=True, on_done=on_done)


def plan_one(repo: Repo, to: str | None, out: Path) -> RepoPlan:
    """Plan one repository; problems become its `error`, never an exception."""
    if repo.problem:
        return RepoPlan(repo.id, repo.location, repo.group, error=repo.problem)
    try:
        path = locate(repo, out)
        base = repo.branch or "HEAD"
        with throwaway_clone(path, base) as tree:
            result, files = update_and_classify(tree, repo.answers, to)
            patch = diff(tree)
        written = None
        if patch:
            out.mkdir(parents=True, exist_ok=True)
            written = out / f"{repo.id}.patch"
            written.write_text(patch, encoding="utf-8")
        return RepoPlan(
            repo.id,
            str(path),
            repo.group,
            result.old_version,
            result.new_version,
            files,
            str(written) if written else None,
        )
    except ScaffoldError as error:
        return RepoPlan(repo.id, repo.location, repo.group, error=error.message)


def update_and_classify(
    tree: Path, answers: Mapping[str, Any], to: str | None
) -> tuple[api.UpdateResult, tuple[tuple[str, str], ...]]:
    """Run the update in `tree` (a clean clone) and class every file it concerns."""
    before = Project.load(tree)
    head = _template.tree_blobs(tree, "HEAD")
    result = api.update(tree, answers, vcs_ref=to)
    after = copying.read_answers(tree)
    old = _template.rendered(before.src, before.version, before.answers)
    new = _template.rendered(before.src, str(after["_commit"]), after)
    return result, classify(result, head, old, new, tree)


def classify(
    result: api.UpdateResult,
    head: Mapping[str, str],
    old: Mapping[str, str],
    new: Mapping[str, str],
    tree: Path,
) -> tuple[tuple[str, str], ...]:
    """Each changed or user-deleted file with its kind (see `KINDS`).

    `head` is the project before the update, `old` and `new` the template's renders at
    the old and new versions (path -> blob id): a file whose blob differs between `head`
    and `old` is one the user changed.
    """
    conflicts = set(result.conflicts)

    def user_changed(name: str) -> bool:
        return head.get(name) != old.get(name)

    kinds: dict[str, str] = {}
    for name in result.added:
        kinds[name] = "conflict" if name in conflicts else "added"
    for name in result.modified:
        if name in conflicts:
            kinds[name] = "conflict"
        elif name in result.locked:
            kinds[name] = "relocked"
        else:
            kinds[name] = "merged" if user_changed(name) else "updated"
    for name in result.removed:
        kinds[name] = "removed-but-modified" if user_changed(name) else "removed"
    for name in new:
        if name in old and name not in head and not (tree / name).exists():
            kinds[name] = "user-deleted"
    return tuple(sorted(kinds.items()))


def diff(tree: Path) -> str:
    """The changes in a throwaway clone against its HEAD, new files included (binary-safe)."""
    _git.git("add", "--all", cwd=tree)
    patch = _git.git("diff", "--cached", "--binary", "HEAD", cwd=tree)
    return patch + "\n" if patch else ""
