"""Where an applied update goes for review: a `Provider` publishes the branch and its text.

`LocalProvider` pushes the branch to the repository's `origin` (never forced) and writes the
pull-request text to `<out>/<id>.md`. A hosted provider (GitHub) would open a pull request
from the same `Change` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from scaffold import _git


@dataclass(frozen=True)
class Change:
    """A committed update branch, ready for review."""

    repo_id: str
    path: Path
    """The user's repository, holding `branch`."""
    branch: str
    base: str
    title: str
    body: str
    """The pull-request text (Markdown)."""
    draft: bool
    """Conflict markers were committed: review as a draft."""


@dataclass(frozen=True)
class Publication:
    """Where the change went: the remote it was pushed to, and the pull-request text file."""

    pushed_to: str | None
    text_file: Path | None
    note: str | None = None


class Provider(Protocol):
    """Publishes an update branch for review; raises `ScaffoldError` when it cannot."""

    @property
    def name(self) -> str: ...

    def publish(self, change: Change) -> Publication: ...


@dataclass(frozen=True)
class LocalProvider:
    """Push to `origin` (if there is one) and write the pull-request text under `out`."""

    out: Path
    name: str = "local"

    def publish(self, change: Change) -> Publication:
        """`git push origin <branch>` (a plain push: a diverged remote branch fails it)."""
        remote = _git.git("remote", "get-url", "origin", cwd=change.path, check=False)
        if remote:
            ref = f"refs/heads/{change.branch}"
            _git.git("push", "--quiet", "origin", f"{ref}:{ref}", cwd=change.path)
        self.out.mkdir(parents=True, exist_ok=True)
        text = self.out / f"{change.repo_id}.md"
        text.write_text(f"# {change.title}\n\n{change.body}", encoding="utf-8")
        note = None if remote else "no origin remote: the branch stays in the repository"
        return Publication(remote or None, text, note)
