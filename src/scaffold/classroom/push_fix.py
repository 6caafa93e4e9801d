"""`scaffold class push-fix`: `fleet.apply` that never overwrites a file a student changed.

The update runs as for `apply` (a throwaway clone, a new branch `scaffold/update-<ref>`,
pushed, never forced). Between the update and its commit, `keep_students_files` looks at
each file the update could not merge cleanly (a conflict, or a file the template dropped
although the student changed it): it puts the student's file back exactly as committed and
writes the template's change to it as `fixes/<ref>/<path>.patch`, with `fixes/<ref>/FIX.md`
saying how to apply it. Files the student did not touch, and clean merges, are updated.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scaffold import _git, api, copying
from scaffold.errors import ExitCode
from scaffold.fleet.apply import Files, RepoApply, apply
from scaffold.fleet.model import Repo
from scaffold.fleet.providers import LocalProvider

FIXES_DIR = "fixes"
KEPT = "kept"
"""The kind of a file left as the student had it, its fix written as a patch."""
_NOT_MERGED = ("conflict", "removed-but-modified")


@dataclass(frozen=True)
class FixResult:
    """One student's outcome: `apply`'s, with `fix-as-patch` when files were kept."""

    applied: RepoApply

    @property
    def id(self) -> str:
        """The student's id."""
        return self.applied.id

    @property
    def kept(self) -> tuple[str, ...]:
        """The student's files left untouched; their fixes are patches in the branch."""
        return tuple(name for name, kind in self.applied.files if kind == KEPT)

    @property
    def outcome(self) -> str:
        """`fix-as-patch` for an applied update with kept files, else `apply`'s outcome."""
        if self.applied.outcome == "applied" and self.kept:
            return "fix-as-patch"
        return self.applied.outcome

    @property
    def code(self) -> ExitCode:
        """`apply`'s code; a fix left as a patch is work pending for the student (4)."""
        if self.outcome == "fix-as-patch" and self.applied.code == ExitCode.OK:
            return ExitCode.PENDING
        return self.applied.code

    def to_dict(self) -> dict[str, Any]:
        """`apply`'s JSON view, with this outcome and the kept files."""
        return {**self.applied.to_dict(), "outcome": self.outcome, "kept": list(self.kept)}

    def row(self) -> dict[str, str]:
        """Flat cells for the table, CSV and Markdown formats."""
        cells = self.applied.row()
        cells["outcome"] = self.outcome + (" (earlier run)" if self.applied.resumed else "")
        return {**cells, "kept": " ".join(self.kept)}


def push_fix(
    repos: Sequence[Repo],
    to: str | None,
    out: Path,
    *,
    verify_command: str | None = None,
    resume: bool = False,
    jobs: int = 1,
    on_done: Callable[[RepoApply], None] | None = None,
) -> list[FixResult]:
    """`apply` with `keep_students_files` before each commit, published by the local provider."""
    results = apply(
        repos,
        to,
        out,
        LocalProvider(out),
        verify_command=verify_command,
        resume=resume,
        jobs=jobs,
        on_done=on_done,
        fixer=keep_students_files,
    )
    return [FixResult(result) for result in results]


def keep_students_files(
    tree: Path, result: api.UpdateResult, files: Files, target: str
) -> tuple[api.UpdateResult, Files]:
    """Restore every file the update did not merge cleanly, and write its fix as a patch.

    `tree` is the throwaway clone holding the update (see `fleet.apply.Fixer`).
    """
    names = sorted({_base(name) for name, kind in files if kind in _NOT_MERGED})
    if not names:
        return result, files
    before = copying.read_answers(tree, "HEAD")
    after = copying.read_answers(tree)
    folder = Path(FIXES_DIR) / _safe(target)
    with tempfile.TemporaryDirectory(prefix="scaffold-fix-") as scratch:
        old = _render(before, Path(scratch) / "old")
        new = _render(after, Path(scratch) / "new")
        patches = {
            name: _patch(tree, name, old / name, new / name, Path(scratch)) for name in names
        }
    written: list[str] = []
    for name, patch in patches.items():
        _restore(tree, name)
        target_file = tree / folder / f"{name}.patch"
        target_file.parent.mkdir(parents=True, exist_ok=True)
        target_file.write_text(patch, encoding="utf-8")
        written.append((folder / f"{name}.patch").as_posix())
    guide = folder / "FIX.md"
    (tree / guide).write_text(
        fix_text(
            str(before["_commit"]), str(after["_commit"]), dict(zip(names, written, strict=True))
        ),
        encoding="utf-8",
    )
    kinds = {name: kind for name, kind in files if not name.endswith(".rej") or _base(name) == name}
    kinds.update({name: KEPT for name in names})
    kinds.update({name: "added" for name in [*written, guide.as_posix()]})
    return replace(result, conflicts=()), tuple(sorted(kinds.items()))


def _base(name: str) -> str:
    """A `.rej` file stands for the file whose hunks it rejected."""
    return name.removesuffix(".rej")


def _safe(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", ref).strip(".-") or "latest"


def _render(answers: Mapping[str, Any], dest: Path) -> Path:
    """The template at the answers' `_commit`, rendered with the answers, into `dest`."""
    src, version = str(answers["_src_path"]), str(answers["_commit"])
    copying.render(src, version, dest, copying.user_answers(answers), defaults=True)
    return dest


def _patch(tree: Path, name: str, old: Path, new: Path, scratch: Path) -> str:
    """The template's change to `name` (its render at the old version → the new one), as a
    `git apply`-able patch with full blob ids, so `git apply --3way` can merge it."""
    trees = []
    for side, file in (("old", old), ("new", new)):
        env = {"GIT_INDEX_FILE": str(scratch / f"index-{side}")}
        Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
        if file.is_symlink() or file.is_file():
            blob = _blob(tree, file)
            mode = (
                "120000"
                if file.is_symlink()
                else "100755"
                if os.access(file, os.X_OK)
                else "100644"
            )
            _git.git(
                "update-index", "--add", "--cacheinfo", f"{mode},{blob},{name}", cwd=tree, env=env
            )
        trees.append(_git.git("write-tree", cwd=tree, env=env))
    patch = _git.git("diff-tree", "-p", "--full-index", "--binary", *trees, cwd=tree)
    return patch + "\n" if patch else ""


def _blob(tree: Path, file: Path) -> str:
    if file.is_symlink():  # git stores a link as a blob holding its target
        return _text_blob(tree, str(file.readlink()))
    return _git.git("hash-object", "-w", "--no-filters", str(file), cwd=tree)


def _text_blob(tree: Path, text: str) -> str:
    with tempfile.NamedTemporaryFile("w", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    try:
        return _git.git("hash-object", "-w", "--no-filters", handle.name, cwd=tree)
    finally:
        os.unlink(handle.name)


def _restore(tree: Path, name: str) -> None:
    """The student's committed file back in place (or gone, if they had none); no `.rej`."""
    (tree / f"{name}.rej").unlink(missing_ok=True)
    if _git.git("ls-tree", "--name-only", "HEAD", "--", name, cwd=tree):
        _git.git("checkout", "HEAD", "--", name, cwd=tree)
    else:
        (tree / name).unlink(missing_ok=True)


def fix_text(old: str, new: str, patches: Mapping[str, str]) -> str:
    """FIX.md: which of the student's files have a fix waiting, and how to apply it."""
    rows = [f"| `{name}` | `{patch}` |" for name, patch in patches.items()]
    first_name, first_patch = next(iter(patches.items()))
    return "\n".join(
        [
            f"# Template fix {old} → {new}: to apply by hand",
            "",
            "The course template changed files that you had changed too, and the two changes",
            "could not be merged automatically. Your files were left exactly as you had them;",
            "each fix is here as a patch instead. Every other file of this branch already has",
            "the fix.",
            "",
            "| your file | its fix |",
            "|---|---|",
            *rows,
            "",
            "To apply a fix, from the top of your repository, with this branch merged:",
            "",
            "```console",
            f"$ git apply --3way {first_patch}",
            "```",
            "",
            f"Where it conflicts with your work, `{first_name}` then holds both versions between",
            "`<<<<<<<` and `>>>>>>>` lines: keep what you need of each, delete the markers,",
            "`git add` the file and commit. `git apply --stat PATCH` shows what a patch changes",
            "without applying it. A patch that deletes a file means the template dropped it:",
            "`git rm` it once you no longer need your version.",
            "",
        ]
    )
