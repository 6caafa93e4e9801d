"""The few git commands scaffold needs, run as subprocesses with captured output."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import RepositoryError


def git(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> str:
    """Run git and return its stdout without the final newline; a failure becomes a one-line error.

    Only trailing newlines go, as with `$(git …)` in a shell: leading spaces carry meaning
    (the ` M` of `git status --porcelain`).
    """
    full_env = {**os.environ, **env} if env else None
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as error:
        raise RepositoryError("git is not installed or not on PATH") from error
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {done.returncode}"
        raise RepositoryError(f"git {args[0]} failed: {reason}")
    return done.stdout.rstrip("\n")


def is_work_tree(path: Path) -> bool:
    """Tell whether `path` is the top level of a git work tree."""
    top = git("rev-parse", "--show-toplevel", cwd=path, check=False)
    return bool(top) and Path(top).resolve() == path.resolve()


def dirty_files(path: Path) -> list[str]:
    """Paths with uncommitted changes (staged, unstaged or untracked, not ignored).

    A rename contributes both its new and its old path.
    """
    return list(
        _status_paths(git("status", "--porcelain", "-z", "--untracked-files=all", cwd=path))
    )


def _status_paths(porcelain_z: str) -> Iterator[str]:
    """The paths of `git status --porcelain -z` output: `XY path`, NUL-separated and unquoted.

    For a rename or copy (X or Y is R or C), the entry's source path follows as its own field.
    """
    fields = iter(porcelain_z.split("\0"))
    for entry in fields:
        if not entry:
            continue
        code, name = entry[:2], entry[3:]
        yield name
        if "R" in code or "C" in code:
            yield next(fields)


@dataclass(frozen=True)
class Changes:
    """How the work tree differs from the last commit (paths relative to the top, sorted)."""

    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]


def changes(path: Path) -> Changes:
    """Classify the uncommitted changes: new files, changed ones and deleted ones.

    `git status` lists what changed; whether a path is in HEAD and whether it is still on
    disk says which kind. A file with merge conflicts is added or modified like any other.
    """
    committed = set(_split_z(git("ls-tree", "-r", "-z", "--name-only", "HEAD", cwd=path)))
    added, modified, removed = set(), set(), set()
    for name in dirty_files(path):
        on_disk = os.path.lexists(path / name)
        if name not in committed:
            if on_disk:
                added.add(name)
        elif on_disk:
            modified.add(name)
        else:
            removed.add(name)
    return Changes(tuple(sorted(added)), tuple(sorted(modified)), tuple(sorted(removed)))


def listed_files(path: Path) -> list[str]:
    """Tracked files plus untracked ones that are not ignored."""
    out = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=path)
    return sorted(set(_split_z(out)))


def _split_z(out: str) -> list[str]:
    return [name for name in out.split("\0") if name]


def has_identity(path: Path) -> bool:
    """Tell whether git knows who commits here (user.name and user.email)."""
    return all(git("config", key, cwd=path, check=False) for key in ("user.name", "user.email"))


def init(path: Path) -> None:
    """`git init` with `main` as the first branch."""
    git("init", "--quiet", "--initial-branch=main", cwd=path)


def initial_commit(path: Path, message: str, author: tuple[str, str]) -> str:
    """Add everything and commit; fall back to `author` if git has no identity."""
    git("add", "--all", cwd=path)
    identity: list[str] = []
    if not has_identity(path):
        identity = ["-c", f"user.name={author[0]}", "-c", f"user.email={author[1]}"]
    git(*identity, "commit", "--quiet", "--no-verify", "--message", message, cwd=path)
    return git("rev-parse", "--short", "HEAD", cwd=path)
