"""Feature switches after creation: re-answer one boolean question at the project's version.

A feature is a boolean question of the template's copier.yml (serving, docker, helm, ci, and
any switch added later), read from the copier.yml of the version that rendered the project.
Switching one runs copier's re-answering update at that same version, so only the feature's
files change. Before that, both renders (current answers, new answers) are made in scratch
directories: they say which files the switch adds, changes and deletes, and whether a file to
delete has local edits (it then differs from what the template rendered for these answers).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scaffold import _git, copying, options
from scaffold.errors import InvalidAnswerError, LocalEditsError, RepositoryError
from scaffold.project import Progress, Project


@dataclass(frozen=True)
class Feature:
    """One switch of the project: its state and what it needs."""

    name: str
    enabled: bool
    help: str
    needs: tuple[str, ...]
    """The other features its `when` condition names (it can be on only when they are)."""


@dataclass(frozen=True)
class SwitchResult:
    """What switching a feature did (or, with `dry_run`, would do). Paths sorted, relative."""

    path: Path
    feature: str
    enabled: bool
    """The state asked for."""
    version: str
    dry_run: bool = False
    already: bool = False
    """The feature was in the asked state already: nothing was done."""
    also: tuple[str, ...] = ()
    """Features switched off with it (those that need it)."""
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    edited: tuple[str, ...] = ()
    """Files to remove that have local edits: removed only with `force`."""
    conflicts: tuple[str, ...] = ()
    restored: tuple[tuple[str, Any], ...] = ()
    """Answers the feature brings back, as last committed (e.g. a custom container_image)."""
    locked: tuple[str, ...] = ()
    lock_problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "path": str(self.path),
            "feature": self.feature,
            "enabled": self.enabled,
            "version": self.version,
            "also": list(self.also),
            "added": list(self.added),
            "modified": list(self.modified),
            "removed": list(self.removed),
            "edited": list(self.edited),
            "conflicts": list(self.conflicts),
            "restored": dict(self.restored),
            "dry_run": self.dry_run,
            "already": self.already,
            "locked": list(self.locked),
            "lock_problem": self.lock_problem,
        }


@dataclass(frozen=True)
class _Template:
    """The project's own template version: where to render it, and its questions."""

    src: str
    questions: list[options.Question]


def feature_names(questions: list[options.Question]) -> list[str]:
    """The boolean questions a user answers, in copier.yml's order."""
    return [q.name for q in questions if q.type == "bool" and not q.computed]


def list_features(path: Path) -> list[Feature]:
    """Every feature of the project at `path`, on or off, in copier.yml's order."""
    project = Project.load(path)
    return _features(_template(project, lambda _message: None).questions, project.answers)


def switch(
    path: Path,
    name: str,
    enable: bool,
    *,
    force: bool = False,
    dry_run: bool = False,
    lock: bool = True,
    progress: Progress | None = None,
) -> SwitchResult:
    """Turn feature `name` on or off with copier's re-answering update at the same version.

    Refuses a dirty repository, an unknown feature, a feature whose prerequisites are off,
    and (unless `force`) deleting files with local edits. Disabling a feature also disables
    those that need it. Conflicts do not raise: they are in the result, as for `update`.
    """
    step = progress or (lambda _message: None)
    project = Project.load(path)
    template = _template(project, step)
    features = {f.name: f for f in _features(template.questions, project.answers)}
    if name not in features:
        known = ", ".join(features) or "none"
        raise InvalidAnswerError(f"unknown feature '{name}'; the template's features: {known}")
    current = {f.name: f.enabled for f in features.values()}
    result = SwitchResult(project.path, name, enable, project.version, dry_run=dry_run)
    if current[name] == enable:
        return replace(result, already=True)
    wanted = _target(project, template, features, name, enable)
    project.require_clean()
    restored = _remembered(project, template, wanted) if enable else {}
    step(f"Rendering template {project.version} with and without {name}")
    plan = _plan(project, template, {**wanted, **restored})
    result = replace(
        result,
        also=tuple(f for f in current if f != name and current[f] != wanted[f]),
        restored=tuple(restored.items()),
        added=plan.added,
        modified=plan.modified,
        removed=plan.removed,
        edited=plan.edited,
    )
    if dry_run:
        return result
    if plan.edited and not force:
        raise LocalEditsError(
            f"disabling {name} would delete {len(plan.edited)} file(s) with local edits"
            f" ({', '.join(plan.edited)}); pass --force to delete them anyway"
        )

    def tidy() -> None:
        for removed in plan.removed if force else ():
            (project.path / removed).unlink(missing_ok=True)  # copier keeps a changed file
        _prune(project.path, plan.removed)

    step(f"Switching {name} {'on' if enable else 'off'} (copier update at {project.version})")
    data = {**{f: wanted[f] for f in current}, **restored}
    updated = project.update(data, project.version, lock=lock, progress=step, tidy=tidy)
    return replace(result, **updated.touched())


def _template(project: Project, step: Progress) -> _Template:
    """The template at the project's version: the mirror holds every installed version, and
    the project's own is added to it when missing (from the release's wheel on the index)."""
    ref = project.template(lambda _message: None)  # a sync is no step of a switch
    project.add_own_version(step)
    return _Template(ref.src, project.questions(ref))


def _remembered(
    project: Project, template: _Template, wanted: Mapping[str, bool]
) -> dict[str, Any]:
    """The answers that switching to `wanted` brings back into view, as last committed.

    Copier drops the answer to a question whose `when` turns false (docker off drops
    container_image), so switching the feature on again would reset it to its default. The
    answers file's git history still holds it: the newest committed value wins.
    """
    now = copying.user_answers(project.answers)
    then = {**now, **wanted}
    hidden = [
        q.name
        for q in template.questions
        if q.name not in wanted and not q.computed and q.name not in now and _when(q, then)
    ]
    found: dict[str, Any] = {}
    log = _git.git("log", "--format=%H", "--", copying.ANSWERS_FILE, cwd=project.path, check=False)
    for revision in log.split() if hidden else ():
        try:
            old = copying.read_answers(project.path, revision)
        except RepositoryError:
            continue  # a broken answers file in history: look further back
        found |= {n: old[n] for n in hidden if n in old and n not in found}
        if len(found) == len(hidden):
            break
    return found


def _prune(root: Path, removed: tuple[str, ...]) -> None:
    """Remove the directories the deleted files leave empty, or holding only `__pycache__`.

    An installed project has bytecode caches in src/ and tests/: a `serve/` kept alive by
    them would still import (as a namespace package) after serving was switched off.
    """
    parents = {parent for name in removed for parent in Path(name).parents if parent.parts}
    for directory in sorted(parents, key=lambda path: len(path.parts), reverse=True):
        full = root / directory
        if full.is_dir() and all(
            child.is_dir() and child.name == "__pycache__" for child in full.iterdir()
        ):
            shutil.rmtree(full)


def _features(questions: list[options.Question], answers: Mapping[str, Any]) -> list[Feature]:
    names = feature_names(questions)
    found = []
    context = copying.user_answers(answers)
    for question in questions:
        if question.name not in names:
            continue
        on = bool(context.get(question.name, False)) and _when(question, context)
        context[question.name] = on
        needs = tuple(n for n in names if re.search(rf"\b{n}\b", question.condition))
        found.append(Feature(question.name, on, question.help, needs))
    return found


def _when(question: options.Question, context: Mapping[str, Any]) -> bool:
    """Copier's `when` for this question over `context` (no condition: always asked)."""
    if not question.condition:
        return True
    from jinja2.sandbox import SandboxedEnvironment

    rendered = SandboxedEnvironment().from_string(question.condition).render(**context)
    return options.parse_bool(rendered) is True


def _target(
    project: Project,
    template: _Template,
    features: Mapping[str, Feature],
    name: str,
    enable: bool,
) -> dict[str, bool]:
    """Every feature's new state: `name` switched, and those that need it off with it."""
    wanted = {f.name: f.enabled for f in features.values()}
    wanted[name] = enable
    missing = [need for need in features[name].needs if not wanted[need]]
    if enable and missing:
        raise InvalidAnswerError(
            f"feature {name} needs {', '.join(missing)}; enable {missing[0]} first"
        )
    context = {**copying.user_answers(project.answers), **wanted}
    by_name = {q.name: q for q in template.questions}
    for feature in features:
        if wanted[feature] and not _when(by_name[feature], context):
            wanted[feature] = context[feature] = False
    return wanted


@dataclass(frozen=True)
class _Plan:
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]
    edited: tuple[str, ...]


def _plan(project: Project, template: _Template, wanted: Mapping[str, Any]) -> _Plan:
    """Added, modified and removed files between the two renders, and the removed ones edited."""
    data = {**copying.user_answers(project.answers), **wanted}
    with tempfile.TemporaryDirectory() as scratch:
        before, after = Path(scratch) / "before", Path(scratch) / "after"
        _render(template.src, project.version, copying.user_answers(project.answers), before)
        _render(template.src, project.version, data, after)
        old, new = _files(before), _files(after)
        changed = [n for n in sorted(old & new) if _bytes(before / n) != _bytes(after / n)]
        removed = sorted(old - new)
        edited = [
            n
            for n in removed
            if (project.path / n).is_file() and _bytes(project.path / n) != _bytes(before / n)
        ]
    return _Plan(tuple(sorted(new - old)), tuple(changed), tuple(removed), tuple(edited))


def _render(src: str, version: str, data: Mapping[str, Any], dest: Path) -> None:
    copying.render(src, version, dest, data, defaults=True)
    shutil.rmtree(dest / ".git", ignore_errors=True)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


__all__ = ["Feature", "SwitchResult", "feature_names", "list_features", "switch"]
