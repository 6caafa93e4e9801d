"""`scaffold apply`: each clean repository's update, committed on `scaffold/update-<ref>`.

The update runs in a throwaway clone (as for `plan`); only a finished commit reaches the
repository, as a new branch pushed into it (never forced), so the branch checked out and
the work tree are never touched. A dirty repository is skipped. Conflicts block the
commit unless `conflicts="draft"`. Each outcome is appended to `<out>/journal.jsonl`;
`resume` skips the repositories that the journal says are done for the same target.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from scaffold import _git, api
from scaffold.errors import ExitCode, ScaffoldError
from scaffold.fleet._work import Verify, locate, run_each, throwaway_clone, verify
from scaffold.fleet.model import Repo
from scaffold.fleet.plan import diff, update_and_classify
from scaffold.fleet.providers import Change, Provider, Publication

JOURNAL = "journal.jsonl"
DONE = ("applied", "draft", "current")
"""Outcomes that `resume` does not redo."""
_CODES = {
    "applied": ExitCode.OK,
    "current": ExitCode.OK,
    "draft": ExitCode.CONFLICTS,
    "blocked": ExitCode.CONFLICTS,
    "skipped-dirty": ExitCode.PENDING,
    "branch-exists": ExitCode.PENDING,
    "failed": ExitCode.REPO_FAILED,
}
_IDENTITY = ("-c", "user.name=mlops-scaffold", "-c", "user.email=scaffold@localhost")
Files = tuple[tuple[str, str], ...]
Fixer = Callable[[Path, api.UpdateResult, Files, str], tuple[api.UpdateResult, Files]]
"""A step between the update and its commit (`scaffold class push-fix` keeps the files that
did not merge): given the clone, the update, its classed files and the target, it may change
the clone and returns the update and files to commit. Module-level, so that it pickles."""


@dataclass(frozen=True)
class RepoApply:
    """One repository's outcome: applied, draft, blocked, current, skipped-dirty,
    branch-exists or failed (`resumed` when the journal said it was done already)."""

    id: str
    path: str
    outcome: str
    group: str | None = None
    old_version: str | None = None
    new_version: str | None = None
    branch: str | None = None
    files: tuple[tuple[str, str], ...] = ()
    verify: Verify | None = None
    pushed_to: str | None = None
    text_file: str | None = None
    patch: str | None = None
    message: str | None = None
    resumed: bool = False

    @property
    def conflicts(self) -> tuple[str, ...]:
        """The files left with conflicts."""
        return tuple(name for name, kind in self.files if kind == "conflict")

    @property
    def code(self) -> ExitCode:
        """What this repository contributes to the exit code."""
        if self.verify and not self.verify.ok:
            return ExitCode.VERIFY_FAILED
        return _CODES.get(self.outcome, ExitCode.REPO_FAILED)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "id": self.id,
            "path": self.path,
            "group": self.group,
            "outcome": self.outcome,
            "resumed": self.resumed,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "branch": self.branch,
            "files": [{"path": name, "kind": kind} for name, kind in self.files],
            "verify": self.verify.to_dict() if self.verify else None,
            "pushed_to": self.pushed_to,
            "text_file": self.text_file,
            "patch": self.patch,
            "message": self.message,
        }

    def row(self) -> dict[str, str]:
        """Flat cells for the table, CSV and Markdown formats."""
        return {
            "id": self.id,
            "outcome": self.outcome + (" (earlier run)" if self.resumed else ""),
            "from": self.old_version or "",
            "to": self.new_version or "",
            "branch": self.branch or "",
            "files": str(len(self.files)) if self.files else "",
            "conflicts": " ".join(self.conflicts),
            "verify": self.verify.cell() if self.verify else "",
            "pushed to": self.pushed_to or "",
            "message": self.message or "",
        }


def apply(
    repos: Sequence[Repo],
    to: str | None,
    out: Path,
    provider: Provider,
    *,
    conflicts: str = "block",
    verify_command: str | None = None,
    resume: bool = False,
    jobs: int = 1,
    on_done: Callable[[RepoApply], None] | None = None,
    fixer: Fixer | None = None,
) -> list[RepoApply]:
    """Apply the update to `to` (None: the newest) in every clean repository.

    `conflicts` is "block" (report the patch, commit nothing) or "draft" (commit the
    conflict markers on the branch). Every outcome is appended to the journal as it comes.
    """
    target = to or "latest"
    done = journal_done(out, target) if resume else {}
    todo = [repo for repo in repos if repo.id not in done]
    journal = out / JOURNAL

    def record(result: RepoApply) -> None:
        out.mkdir(parents=True, exist_ok=True)
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "to": target, **result.to_dict()}
        with journal.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")
        if on_done:
            on_done(result)

    work = partial(
        apply_one,
        to=to,
        out=out,
        provider=provider,
        conflicts=conflicts,
        verify_command=verify_command,
        fixer=fixer,
    )
    applied = {r.id: r for r in run_each(todo, work, jobs, processes=True, on_done=record)}
    return [applied.get(repo.id) or done[repo.id] for repo in repos]


def journal_done(out: Path, target: str) -> dict[str, RepoApply]:
    """The repositories the journal shows done for `target` (their latest finished outcome).

    A later `branch-exists` or `skipped-dirty` entry does not undo an earlier `applied`.
    """
    file = out / JOURNAL
    if not file.is_file():
        return {}
    last: dict[str, dict[str, Any]] = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interruption
        if isinstance(entry, dict) and entry.get("to") == target and entry.get("outcome") in DONE:
            last[str(entry["id"])] = entry
    return {
        ident: RepoApply(
            ident,
            str(entry.get("path")),
            str(entry["outcome"]),
            old_version=entry.get("old_version"),
            new_version=entry.get("new_version"),
            branch=entry.get("branch"),
            pushed_to=entry.get("pushed_to"),
            resumed=True,
        )
        for ident, entry in last.items()
    }


def apply_one(
    repo: Repo,
    to: str | None,
    out: Path,
    provider: Provider,
    conflicts: str = "block",
    verify_command: str | None = None,
    fixer: Fixer | None = None,
) -> RepoApply:
    """Apply one repository's update; problems become a `failed` outcome, never an exception."""
    if repo.problem:
        return RepoApply(repo.id, repo.location, "failed", repo.group, message=repo.problem)
    try:
        path = locate(repo, out)
        if dirty := _git.dirty_files(path):
            message = f"uncommitted changes ({dirty[0]}, …): not touched"
            return RepoApply(repo.id, str(path), "skipped-dirty", repo.group, message=message)
        if to and _has_branch(path, branch_name(to)):  # known before any work
            message = f"branch {branch_name(to)} exists already (an earlier run?): not touched"
            return RepoApply(
                repo.id,
                str(path),
                "branch-exists",
                repo.group,
                branch=branch_name(to),
                message=message,
            )
        with throwaway_clone(path, repo.branch or "HEAD") as tree:
            return _apply_in(repo, path, tree, to, out, provider, conflicts, verify_command, fixer)
    except ScaffoldError as error:
        return RepoApply(repo.id, repo.location, "failed", repo.group, message=error.message)


def _apply_in(
    repo: Repo,
    path: Path,
    tree: Path,
    to: str | None,
    out: Path,
    provider: Provider,
    conflicts: str,
    verify_command: str | None,
    fixer: Fixer | None = None,
) -> RepoApply:
    result, files = update_and_classify(tree, repo.answers, to)
    if fixer is not None:
        result, files = fixer(tree, result, files, to or result.new_version or "latest")
    outcome = partial(
        RepoApply,
        repo.id,
        str(path),
        group=repo.group,
        files=files,
        old_version=result.old_version,
        new_version=result.new_version,
    )
    if not result.changed:
        return outcome("current")
    branch = branch_name(to or result.new_version or "latest")
    if _has_branch(path, branch):
        message = f"branch {branch} exists already (an earlier run?): not touched"
        return outcome("branch-exists", branch=branch, message=message)
    if result.conflicts and conflicts != "draft":
        out.mkdir(parents=True, exist_ok=True)
        patch = out / f"{repo.id}.patch"
        patch.write_text(diff(tree), encoding="utf-8")
        message = "conflicts: nothing committed; see the patch, or rerun with --conflicts=draft"
        return outcome("blocked", patch=str(patch), message=message)
    draft = bool(result.conflicts)
    title = f"Update from template {result.old_version} to {result.new_version}"
    title = f"[draft] {title}" if draft else title
    _git.git("add", "--all", cwd=tree)
    identity = () if _git.has_identity(tree) else _IDENTITY
    _git.git(*identity, "commit", "--quiet", "--no-verify", "-m", title, cwd=tree)
    checked = verify(verify_command, tree) if verify_command else None
    _git.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=tree)
    base = repo.branch or _git.git("rev-parse", "--abbrev-ref", "HEAD", cwd=path)
    body = pull_request_text(result.old_version, result.new_version, files, checked, base)
    published: Publication = provider.publish(
        Change(repo.id, path, branch, base, title, body, draft)
    )
    return outcome(
        "draft" if draft else "applied",
        branch=branch,
        verify=checked,
        pushed_to=published.pushed_to,
        text_file=str(published.text_file) if published.text_file else None,
        message=published.note,
    )


def _has_branch(path: Path, branch: str) -> bool:
    found = _git.git(
        "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=path, check=False
    )
    return bool(found)


def branch_name(ref: str) -> str:
    """`scaffold/update-<ref>`, with characters git refuses in a branch name replaced."""
    return "scaffold/update-" + re.sub(r"[^A-Za-z0-9._+-]+", "-", ref).strip(".-")


def pull_request_text(
    old: str | None,
    new: str | None,
    files: tuple[tuple[str, str], ...],
    checked: Verify | None,
    base: str,
) -> str:
    """The pull-request body: versions, files by kind, conflicts, the verify result."""
    lines = [f"Template update **{old} → {new}** onto `{base}`, made by `scaffold`.", ""]
    lines += ["| file | change |", "|---|---|"]
    lines += [f"| `{name}` | {kind} |" for name, kind in files]
    conflicted = [name for name, kind in files if kind == "conflict"]
    if conflicted:
        lines += ["", "**Conflicts to resolve** (markers are committed on this branch):", ""]
        lines += [f"- `{name}`" for name in conflicted]
    if checked:
        verdict = "passed" if checked.ok else f"**failed** (exit {checked.returncode})"
        lines += ["", f"Verify `{checked.command}`: {verdict} in {checked.seconds:.1f} s."]
        if not checked.ok and checked.tail:
            lines += ["", "```", checked.tail, "```"]
    return "\n".join(lines) + "\n"
