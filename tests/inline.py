"""A tiny copier template written inline, as copier's own tests do: for what only needs the
engine (create, update, conflicts), a few files render far faster than the whole template."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tests.support import commit_all, run

TEMPLATE_V1: dict[str, str | None] = {
    "copier.yml": "_subdirectory: template\nname:\n  type: str\n  help: Name\n  default: demo\n",
    "template/{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml -}}\n",
    "template/README.md.jinja": "# {{ name }}\n",
    "template/settings.toml": "line-length = 100\n",
    "template/old.txt": "dropped in v2\n",
}
# v2 changes a line, removes a file and adds one.
TEMPLATE_V2: dict[str, str | None] = {
    "template/settings.toml": "line-length = 110\n",
    "template/old.txt": None,
    "template/new.txt": "added in v2\n",
}


def write_files(root: Path, files: Mapping[str, str | None]) -> None:
    """Write each file (parents created); None deletes it."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def template_repo(root: Path) -> Path:
    """A git repository holding TEMPLATE_V1, tagged v1."""
    root.mkdir(parents=True)
    run(["git", "init", "--quiet", "--initial-branch=main"], cwd=root)
    write_files(root, TEMPLATE_V1)
    commit_all(root, "v1", tag="v1")
    return root


def release_v2(root: Path) -> None:
    """Commit TEMPLATE_V2's changes and tag them v2."""
    write_files(root, TEMPLATE_V2)
    commit_all(root, "v2", tag="v2")
