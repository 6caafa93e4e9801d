"""A fleet in mixed states for the fleet tests, built from the inline template in seconds.

Every repository has a bare `origin` (a `file://` URL), as on a hosting service.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from scaffold import api
from tests.inline import release_v2, template_repo, write_files
from tests.support import commit_all, run

# The mixed fleet: id -> what makes it special (at v1 unless said otherwise).
STATES = ("current", "behind", "dirty", "conflicted", "deleted", "edited", "unreachable")


def project(template: Path, where: Path, ref: str = "v1", name: str | None = None) -> Path:
    """A project generated at `ref`, committed, with a bare `origin` it was pushed to."""
    data = {"name": name} if name else None
    path = api.create(where, data, template=str(template), vcs_ref=ref, defaults=True).path
    bare = where.parent / f"{where.name}.git"
    run(["git", "init", "--quiet", "--bare", "--initial-branch=main", bare], cwd=where.parent)
    run(["git", "remote", "add", "origin", f"file://{bare}"], cwd=path)
    run(["git", "push", "--quiet", "--set-upstream", "origin", "main"], cwd=path)
    return path


def mixed_fleet(root: Path) -> tuple[Path, dict[str, Path]]:
    """The template (released up to v2) and one repository per state in `STATES`."""
    template = template_repo(root / "template")
    repos = {state: project(template, root / state) for state in STATES[1:-1]}
    write_files(repos["dirty"], {"NOTES.md": "uncommitted\n"})
    write_files(repos["conflicted"], {"settings.toml": "<<<<<<< before\nx\n>>>>>>> after\n"})
    commit_all(repos["conflicted"], "an update left conflict markers")
    (repos["deleted"] / "settings.toml").unlink()
    commit_all(repos["deleted"], "the user deleted settings.toml")
    write_files(repos["edited"], {"settings.toml": "line-length = 120\n"})
    commit_all(repos["edited"], "the user changed the line length")
    release_v2(template)
    repos["current"] = project(template, root / "current", ref="v2")
    repos["unreachable"] = root / "unreachable"
    return template, {state: repos[state] for state in STATES}


def snapshot(repo: Path) -> dict[str, str]:
    """Every file under `repo`, `.git` included: relative path -> content digest."""
    return {
        path.relative_to(repo).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(repo.rglob("*"))
        if path.is_file()
    }


def changed(before: dict[Path, dict[str, str]]) -> dict[str, list[str]]:
    """For each repository snapshot taken before: the paths that differ now (none, ideally)."""
    found = {}
    for repo, files in before.items():
        now = snapshot(repo)
        differing = sorted(name for name in {*files, *now} if files.get(name) != now.get(name))
        if differing:
            found[repo.name] = differing
    return found
