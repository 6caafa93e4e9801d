"""The library API: create and update projects (copier is called through `copying`).

Functions return result objects and raise `ScaffoldError` subclasses; they never print
or exit. Long steps are announced through the optional `progress` callback.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import _git, copying, data_tracking, destination, locking, options, source
from scaffold import dataset as datasets
from scaffold.errors import ScaffoldError, TemplateError
from scaffold.project import Progress, Project, find_conflicts

ANSWERS_FILE = copying.ANSWERS_FILE
read_answers = copying.read_answers


@dataclass(frozen=True)
class CreateResult:
    """What `create` made."""

    path: Path
    template: str
    version: str | None
    commit: str | None
    """The project's first commit, or None when git history was left to the user."""
    locked: tuple[str, ...] = ()
    """The lock files written (uv.lock, and requirements.lock.txt for pip projects)."""
    lock_problem: str | None = None
    """Why the dependencies could not be locked (None when they were, or not asked)."""
    inferred: tuple[str, ...] = ()
    """With a dataset: what the contract's inference said (task, positive class, left-outs)."""
    install_problem: str | None = None
    """With a dataset: why `make install` failed where the project landed (None: it worked)."""


@dataclass(frozen=True)
class UpdateResult:
    """What `update` changed: versions before and after, and the files it touched.

    Paths are relative to the project and sorted. `conflicts` holds the files left with
    conflict markers and the `.rej` files; each of them is also in `added` or `modified`.
    """

    path: Path
    old_version: str | None
    new_version: str | None
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]
    conflicts: tuple[str, ...]
    locked: tuple[str, ...] = ()
    """The lock files rewritten because the update changed pyproject.toml."""
    lock_problem: str | None = None
    """Why they could not be (None when they were, or did not need to be)."""
    mirrored: str | None = None
    """How the project's own version was added to the template mirror (None: it was there)."""

    @property
    def changed(self) -> tuple[str, ...]:
        """Every added, modified or removed file, sorted."""
        return tuple(sorted({*self.added, *self.modified, *self.removed}))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for `scaffold update --json`)."""
        return {
            "path": str(self.path),
            "old_version": self.old_version,
            "new_version": self.new_version,
            "added": list(self.added),
            "modified": list(self.modified),
            "removed": list(self.removed),
            "conflicts": list(self.conflicts),
            "locked": list(self.locked),
            "lock_problem": self.lock_problem,
            "mirrored": self.mirrored,
        }


def version() -> str:
    """The installed version of mlops-scaffold."""
    return source.installed_version()


def questions(template: str | None = None) -> list[options.Question]:
    """The template's questions (the bundled template unless `template` is given)."""
    root = source.local_template(template, None).root if template else source.bundled_root()
    if root is None:
        raise TemplateError(f"cannot read the questions of remote template {template}")
    return options.load_questions(root)


def sync_mirror() -> source.TemplateRef:
    """Refresh the local template mirror with the bundled template; return its ref."""
    return source.sync_mirror()


def mirror_versions() -> list[str]:
    """The template versions (tags) the local mirror holds, oldest first."""
    return source.mirror_tags()


def resolve_template(template: str | None, vcs_ref: str | None) -> source.TemplateRef:
    """The template to render: a user-given source, or the bundled one via the mirror."""
    if template:
        return source.local_template(template, vcs_ref)
    ref = sync_mirror()
    return ref if vcs_ref is None else source.TemplateRef(ref.src, vcs_ref, ref.root)


def create(
    dest: Path,
    data: Mapping[str, Any] | None = None,
    *,
    defaults: bool = False,
    template: str | None = None,
    vcs_ref: str | None = None,
    force: bool = False,
    git_init: bool = True,
    lock: bool = True,
    progress: Progress | None = None,
    dataset: datasets.Dataset | None = None,
) -> CreateResult:
    """Render a new project into `dest` and make its first git commit.

    With a `dataset`, the project is made from that table instead of the starter data: the
    table is copied into data/raw/, its contract inferred, and the environment installed
    (see `scaffold.dataset`); an inference that fails leaves nothing behind either.

    The project is rendered into a hidden sibling directory and moved into place only when
    everything succeeded, so a failure leaves nothing behind. With `force`, the files are
    copied over an existing non-empty `dest`; other files there are kept.

    With `defaults`, unanswered questions take their defaults; without, copier asks them on
    the terminal, so the caller must make sure there is one (the CLI requires `--defaults`
    when stdin is not a terminal).
    """
    step = progress or (lambda _message: None)
    dest = dest.expanduser().absolute()
    destination.check_name_lengths(dest)
    if dest.is_symlink() and dest.is_dir():
        dest = dest.resolve()  # the project goes where the link points
    data = datasets.with_answer(dict(data or {}), dataset)
    destination.check_destination(dest, force)
    step("Preparing template")
    ref = resolve_template(template, vcs_ref)
    if ref.root is not None:
        options.check_answers(data, options.load_questions(ref.root))
    done = False
    created: list[Path] = []
    staging: Path | None = None
    try:
        with destination.signals_deferred():  # what is made here is named before a signal can land
            created = destination.make_directory(dest.parent)
            staging = destination.make_staging(dest)
        step("Rendering project")
        copying.render(
            ref.src,
            ref.vcs_ref,
            staging,
            data,
            defaults=defaults,
            user_defaults=datasets.named_defaults(dest, dataset),
        )
        commit = None
        outcome = _lock(staging, dataset, step) if lock else locking.LockOutcome(())
        inferred = _infer_contract(ref, staging, dataset, step)
        existing_repo = dest.exists() and _git.is_work_tree(dest)
        raw_files = data_tracking.untracked_raw_files(staging)
        if (git_init and not existing_repo) or raw_files:
            _git.init(staging)  # DVC works only inside a git work tree
        if raw_files:
            step("Tracking the raw data with DVC")
            data_tracking.track(staging, raw_files)
        if git_init and not existing_repo:
            step("Creating the first git commit")
            answers = read_answers(staging)
            author = (
                str(answers.get("author_name", "scaffold")),
                str(answers.get("author_email", "scaffold@localhost")),
            )
            commit = _git.initial_commit(
                staging, f"Initial commit from mlops-scaffold {version()}", author
            )
        elif (staging / ".git").is_dir():
            shutil.rmtree(staging / ".git")
        destination.move_into_place(staging, dest)
        done = True
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not done:
            destination.remove_empty(created)
    return CreateResult(
        path=dest,
        template=ref.src,
        version=read_answers(dest).get("_commit"),
        commit=commit,
        locked=outcome.files,
        lock_problem=outcome.problem,
        inferred=tuple(inferred),
        install_problem=_install_landed(dest, dataset, step),
    )


def _lock(staging: Path, dataset: datasets.Dataset | None, step: Progress) -> locking.LockOutcome:
    """`uv lock` (and the pip pins) of the rendered project; a dataset's contract is inferred
    in the project's environment, so there a failed lock stops the run with its reason."""
    step("Locking the dependencies (uv lock)")
    pip_export = read_answers(staging).get("installer") == "pip"
    outcome = locking.lock(staging, pip_export=pip_export)
    if dataset is not None and outcome.problem:
        raise ScaffoldError(
            "--dataset: the contract is inferred in the project's environment, which needs "
            f"the dependencies locked, and they could not be: {outcome.problem}"
        )
    return outcome


def _infer_contract(
    ref: source.TemplateRef, staging: Path, dataset: datasets.Dataset | None, step: Progress
) -> list[str]:
    """With a dataset: the table copied in, its contract inferred, the project rendered for
    the inferred task; what the inference said."""
    if dataset is None:
        return []
    step(f"Inferring the data contract from {dataset.name}")
    said = datasets.prepare(staging, str(read_answers(staging).get("package_name")), dataset)
    _render_for_inferred_task(ref, staging, dataset, step)
    return said


def _render_for_inferred_task(
    ref: source.TemplateRef, staging: Path, dataset: datasets.Dataset, step: Progress
) -> None:
    """With a dataset whose task was inferred, not given: rendered again for that task, with
    the answers as recorded, when it is not the answer's default (binary)."""
    if dataset.task is not None:
        return
    task = datasets.inferred_task(staging)
    if task != "binary":
        step(f"Rendering params.yaml and the chart for a {task} task")
        answered = copying.user_answers(read_answers(staging))
        data = {**answered, datasets.TASK_ANSWER: task}
        copying.render(ref.src, ref.vcs_ref, staging, data, defaults=True)


def _install_landed(dest: Path, dataset: datasets.Dataset | None, step: Progress) -> str | None:
    """With a dataset: `make install` where the project landed; why it failed, if it did."""
    if dataset is None:
        return None
    step("Installing the project's environment (make install)")
    try:
        datasets.install(dest, str(read_answers(dest).get("package_name")))
    except ScaffoldError as error:
        return error.message
    return None


def update(
    path: Path,
    data: Mapping[str, Any] | None = None,
    *,
    vcs_ref: str | None = None,
    lock: bool = True,
    progress: Progress | None = None,
    release: Path | None = None,
) -> UpdateResult:
    """Bring a generated project to a newer template version with `copier update`.

    Refuses a dirty repository (the update must be reviewable as one diff), so the files
    the update touched are exactly the uncommitted changes afterwards. Conflicts do not
    raise: they are part of the result, for the caller to report. With `lock`, a change to
    pyproject.toml relocks uv.lock. When the template mirror lacks the project's version,
    it is added from `release` (a wheel or checkout of it) or that release's wheel on the
    package index.
    """
    step = progress or (lambda _message: None)
    project = Project.load(path)
    project.require_clean()
    data = dict(data or {})
    ref = project.template(step)
    mirrored = project.add_own_version(step, release)
    if ref.root is not None:
        options.check_answers(data, options.load_questions(ref.root))
    step(f"Updating from template {project.version}")
    updated = project.update(data, vcs_ref or ref.vcs_ref, lock=lock, progress=step)
    return UpdateResult(
        path=project.path,
        old_version=project.version,
        new_version=updated.version,
        mirrored=mirrored,
        **updated.touched(),
    )


def run_update(path: Path, data: Mapping[str, Any], vcs_ref: str | None) -> None:
    """`copier update` with `data` re-answered, nothing else (no checks, no relock)."""
    copying.update(path, data, vcs_ref)


__all__ = [
    "CreateResult",
    "Progress",
    "ScaffoldError",
    "UpdateResult",
    "create",
    "find_conflicts",
    "mirror_versions",
    "questions",
    "read_answers",
    "run_update",
    "sync_mirror",
    "update",
    "version",
]
