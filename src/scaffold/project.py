"""A generated project: its answers, the template version and source that rendered it, the
state of its git tree, its lock; and the one way it is changed by copier's update.

`scaffold update`, the feature switches, the fleet and the classroom all start from
`Project.load`, and the first two change a project through `Project.update`: a clean tree
is required, copier updates it, conflicts are found, and a changed pyproject.toml relocks.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import _git, copying, locking, options, releases, source
from scaffold.errors import RepositoryError

Progress = Callable[[str], None]
_CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")


@dataclass(frozen=True)
class Updated:
    """What an update left in the project: its changes, conflicts and relocked files."""

    changes: _git.Changes
    conflicts: tuple[str, ...]
    lock: locking.LockOutcome
    version: str | None
    """The template version the project records now."""

    def touched(self) -> dict[str, Any]:
        """The files as the results of an update and of a feature switch report them."""
        return {
            "added": self.changes.added,
            "modified": self.changes.modified,
            "removed": self.changes.removed,
            "conflicts": self.conflicts,
            "locked": self.lock.files,
            "lock_problem": self.lock.problem,
        }


@dataclass(frozen=True)
class Project:
    """A project rendered from the template, as its answers file and git tree say."""

    path: Path
    answers: dict[str, Any]
    src: str
    """The template source it records (`_src_path`): the mirror, a directory or a URL."""
    version: str
    """The template version that rendered it (`_commit`)."""

    @classmethod
    def load(cls, path: Path) -> Project:
        """The project at the top of the git work tree `path`."""
        path = path.expanduser().absolute()
        answers = copying.read_answers(path)
        if "_src_path" not in answers or "_commit" not in answers:
            raise RepositoryError(
                f"{path / copying.ANSWERS_FILE} lacks _src_path or _commit; cannot update"
            )
        if not _git.is_work_tree(path):
            raise RepositoryError(
                f"{path} is not the top of a git repository; copier update needs one"
            )
        return cls(path, answers, str(answers["_src_path"]), str(answers["_commit"]))

    @property
    def user_answers(self) -> dict[str, Any]:
        """The answers to the template's questions (without copier's own `_` keys)."""
        return copying.user_answers(self.answers)

    @property
    def on_mirror(self) -> bool:
        """Whether the project records this machine's template mirror as its source."""
        return source.is_mirror(self.src)

    @property
    def pip_installer(self) -> bool:
        """Whether the project installs with pip (its lock is exported to hashed pins)."""
        return self.answers.get("installer") == "pip"

    def require_clean(self) -> None:
        """Refuse uncommitted changes: an update must be reviewable as one diff."""
        if dirty := _git.dirty_files(self.path):
            raise RepositoryError(
                f"{self.path} has uncommitted changes ({dirty[0]}, …); commit or stash them first"
            )

    def template(self, progress: Progress) -> source.TemplateRef:
        """The template to update from: on the mirror, synced with the installed template
        (its tag is the ref); elsewhere, the recorded source, no ref."""
        if not self.on_mirror:
            return source.local_template(self.src, None)
        progress("Syncing the local template mirror")
        return source.sync_mirror()

    def add_own_version(self, progress: Progress, release: Path | None = None) -> str | None:
        """Add the project's version to the mirror when it lacks it; say from where.

        From `release` (a wheel or checkout of it), or else that release's wheel on the
        package index. None when nothing was added (the mirror held it, or is not used).
        """
        if not self.on_mirror or self.version in source.mirror_tags():
            return None
        with tempfile.TemporaryDirectory(prefix="scaffold-release-") as scratch:
            origin = releases.add_to_mirror(self.version, release, Path(scratch), progress)
        return f"added {self.version} from {origin}"

    def questions(self, ref: source.TemplateRef) -> list[options.Question]:
        """The questions of the template at the project's own version."""
        return copying.questions_at(ref.src, self.version)

    def update(
        self,
        data: Mapping[str, Any],
        vcs_ref: str | None,
        *,
        lock: bool,
        progress: Progress,
        tidy: Callable[[], None] | None = None,
    ) -> Updated:
        """`copier update` to `vcs_ref` with `data` re-answered; conflicts stay inline.

        `tidy` runs right after copier. With `lock`, a change to pyproject.toml relocks
        uv.lock (not a template file: without it `make install` refuses the stale lock).
        """
        copying.update(self.path, data, vcs_ref)
        if tidy is not None:
            tidy()
        changes = _git.changes(self.path)
        conflicts = tuple(find_conflicts(self.path, among=[*changes.added, *changes.modified]))
        outcome = locking.LockOutcome(())
        relock = "pyproject.toml" in changes.modified and (self.path / locking.LOCK_FILE).exists()
        if lock and relock:
            if "pyproject.toml" in conflicts:
                problem = "pyproject.toml has conflicts; resolve them, then run `make lock`"
                outcome = locking.LockOutcome((), problem)
            else:
                progress("Locking the dependencies (uv lock)")
                outcome = locking.lock(self.path, pip_export=self.pip_installer)
                changes = _git.changes(self.path)
        version = copying.read_answers(self.path).get("_commit")
        return Updated(changes, conflicts, outcome, None if version is None else str(version))


def find_conflicts(path: Path, among: Iterable[str] | None = None) -> list[str]:
    """Files that hold conflict markers, and `.rej` files, sorted.

    Looks at `among` (paths relative to `path`), or else at every file git tracks or would
    track in the project.
    """
    names = _git.listed_files(path) if among is None else sorted(among)
    found = []
    for name in names:
        file = path / name
        if name.endswith(".rej") or (file.is_file() and _has_markers(file)):
            found.append(name)
    return found


def _has_markers(file: Path) -> bool:
    try:
        with file.open(encoding="utf-8") as handle:
            return any(line.startswith(_CONFLICT_MARKERS) for line in handle)
    except (UnicodeDecodeError, OSError):
        return False
