"""The machinery every fleet command shares: the pool, throwaway worktrees, `--verify`.

Copier changes the process's working directory while it renders (plumbum's `local.cwd`),
so work that runs copier must go to a process pool; git-only work runs in threads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from scaffold import _git
from scaffold.errors import RepositoryError
from scaffold.fleet.model import Repo

T = TypeVar("T")
R = TypeVar("R")
_TAIL_LINES = 20


def default_jobs() -> int:
    """Most of the work waits on git and copier subprocesses: twice the CPUs, at most 8."""
    return min(8, (os.cpu_count() or 1) * 2)


def run_each(
    items: Sequence[T],
    work: Callable[[T], R],
    jobs: int,
    *,
    processes: bool = False,
    on_done: Callable[[R], None] | None = None,
) -> list[R]:
    """`work` on every item, `jobs` at a time; results in the items' order.

    With `processes`, `work` and the items must pickle (module-level functions). One job
    runs in this process, in order, which is easiest to debug.
    """
    if jobs <= 1 or len(items) <= 1:
        results = []
        for item in items:
            results.append(work(item))
            if on_done:
                on_done(results[-1])
        return results
    pool: Executor = (
        ProcessPoolExecutor(max_workers=jobs) if processes else ThreadPoolExecutor(jobs)
    )
    with pool:
        futures = {pool.submit(work, item): index for index, item in enumerate(items)}
        done: dict[int, R] = {}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if on_done:
                on_done(done[futures[future]])
    return [done[index] for index in range(len(items))]


def locate(repo: Repo, state: Path) -> Path:
    """The local directory of a repository: its path, or a clone of its URL under `state`.

    A clone belongs to scaffold: later runs fetch and reset it to the remote branch.
    """
    if not repo.is_url:
        path = Path(repo.location)
        if not path.is_dir():
            raise RepositoryError(f"{path} not found")
        if not _git.is_work_tree(path):
            raise RepositoryError(f"{path} is not the top of a git repository")
        return path
    clone = state / "clones" / repo.id
    if not (clone / ".git").is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        branch = ("--branch", repo.branch) if repo.branch else ()
        _git.git("clone", "--quiet", *branch, repo.location, str(clone))
        return clone
    _git.git("fetch", "--quiet", "origin", cwd=clone)
    upstream = f"origin/{repo.branch}" if repo.branch else "origin/HEAD"
    _git.git("reset", "--hard", "--quiet", upstream, cwd=clone)
    return clone


@contextmanager
def throwaway_worktree(repo: Path, ref: str) -> Iterator[Path]:
    """A detached worktree of `repo` at `ref` in a temporary directory, removed afterwards.

    The repository keeps no trace: the worktree's bookkeeping goes with `git worktree
    remove` and `prune`, and commits made in it survive only on branches created there.
    """
    scratch = Path(tempfile.mkdtemp(prefix="scaffold-fleet-"))
    tree = scratch / repo.name
    try:
        _git.git("worktree", "add", "--quiet", "--detach", str(tree), ref, cwd=repo)
        yield tree
    finally:
        _git.git("worktree", "remove", "--force", str(tree), cwd=repo, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        _git.git("worktree", "prune", cwd=repo, check=False)


@contextmanager
def throwaway_clone(repo: Path, ref: str) -> Iterator[Path]:
    """A clone of `repo` at `ref` (detached) in a temporary directory, deleted afterwards.

    `--shared` borrows the repository's objects instead of copying them, so it is cheap,
    and unlike a worktree it leaves nothing in the repository: even the objects that
    copier writes for conflicted files stay in the clone.
    """
    commit = _git.git(
        "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo, check=False
    )
    if not commit:
        raise RepositoryError(f"{repo} has no commit {ref}")
    scratch = Path(tempfile.mkdtemp(prefix="scaffold-fleet-"))
    tree = scratch / repo.name
    try:
        _git.git("clone", "--quiet", "--shared", "--no-checkout", str(repo), str(tree))
        _git.git("checkout", "--quiet", "--detach", commit, cwd=tree)
        yield tree
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class Verify:
    """The result of `--verify CMD` in one repository."""

    command: str
    returncode: int
    seconds: float
    tail: str
    """The last lines of its output (stdout and stderr together)."""

    @property
    def ok(self) -> bool:
        """Whether the command succeeded."""
        return self.returncode == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "command": self.command,
            "ok": self.ok,
            "returncode": self.returncode,
            "seconds": round(self.seconds, 2),
            "tail": self.tail,
        }

    def cell(self) -> str:
        """A short table cell: `ok 1.2s` or `failed (2) 0.3s`."""
        verdict = "ok" if self.ok else f"failed ({self.returncode})"
        return f"{verdict} {self.seconds:.1f}s"


def verify(command: str, where: Path) -> Verify:
    """Run `command` with the shell in `where`, input closed, output captured."""
    start = time.monotonic()
    done = subprocess.run(
        command,
        shell=True,
        cwd=where,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    tail = "\n".join(done.stdout.splitlines()[-_TAIL_LINES:])
    return Verify(command, done.returncode, time.monotonic() - start, tail)


def verify_clean(command: str, repo: Path, ref: str = "HEAD") -> Verify:
    """`verify` in a clean worktree of `repo` at `ref`: uncommitted files play no part."""
    with throwaway_worktree(repo, ref) as tree:
        return verify(command, tree)
