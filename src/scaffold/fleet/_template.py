"""What the fleet needs to know about a project's template: its versions, and its renders.

Versions are git tags ordered as copier orders them (PEP 440; other tags are ignored).
They are cached per template source, so a fleet of 200 repositories on one template lists
its tags once. A render (one `copier copy`, ~0.3 s for a small template and seconds for the
bundled one) is cached per source, version and answers.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from scaffold import _git, api, source
from scaffold.errors import RepositoryError, TemplateError

ANSWERS_FILE = api.ANSWERS_FILE
_DESCRIBED = re.compile(r"^(?P<tag>.+)-\d+-g[0-9a-f]+$")  # `git describe --tags` past a tag
_lock = threading.Lock()


def read_answers(project: Path, ref: str | None = None) -> dict[str, Any]:
    """The answers file of a project, from its work tree or from commit `ref`."""
    if ref is None:
        file = project / ANSWERS_FILE
        if not file.is_file():
            raise RepositoryError(f"{project} is not a generated project: no {ANSWERS_FILE}")
        text = file.read_text(encoding="utf-8")
    else:
        text = _git.git("show", f"{ref}:{ANSWERS_FILE}", cwd=project, check=False)
        if not text:
            raise RepositoryError(f"{project} has no {ANSWERS_FILE} at {ref}")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RepositoryError(f"{project / ANSWERS_FILE} is not valid YAML") from error
    if not isinstance(loaded, dict) or "_src_path" not in loaded or "_commit" not in loaded:
        raise RepositoryError(f"{project / ANSWERS_FILE} lacks _src_path or _commit")
    return loaded


def user_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without copier's own `_` keys: what a render is given as data."""
    return {key: value for key, value in answers.items() if not str(key).startswith("_")}


def is_mirror(src: str) -> bool:
    """Whether a recorded `_src_path` is this machine's template mirror."""
    return source.is_mirror(src) or src == source.portable(source.mirror_path())


def versions(src: str) -> tuple[str, ...]:
    """The template's versions, oldest first; the last one is what an update brings."""
    with _lock:  # one listing (and one mirror sync) per source, even from many threads
        return _versions(src)


@cache
def _versions(src: str) -> tuple[str, ...]:
    if is_mirror(src):
        api.sync_mirror()
        tags = source.mirror_tags()
    elif Path(src).expanduser().is_dir():
        tags = _git.git("tag", "--list", cwd=Path(src).expanduser(), check=False).splitlines()
    else:
        listing = _git.git("ls-remote", "--tags", "--refs", src, check=False)
        tags = [line.rsplit("refs/tags/", 1)[-1] for line in listing.splitlines()]
    ordered = []
    for tag in tags:
        try:
            ordered.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return tuple(tag for _version, tag in sorted(ordered))


def behind(current: str, available: tuple[str, ...]) -> int | None:
    """How many versions `current` is behind the newest; None when it is not a known tag."""
    described = _DESCRIBED.match(current)
    tag = described.group("tag") if described and current not in available else current
    if tag not in available:
        return None
    return len(available) - 1 - available.index(tag)


def rendered(src: str, ref: str, answers: Mapping[str, Any]) -> dict[str, str]:
    """The files the template renders at `ref` with `answers`: path → git blob id."""
    key = json.dumps(user_answers(answers), sort_keys=True, default=str)
    return dict(_rendered(src, ref, key))


@cache
def _rendered(src: str, ref: str, answers_json: str) -> tuple[tuple[str, str], ...]:
    import copier
    from copier.errors import CopierError

    with tempfile.TemporaryDirectory(prefix="scaffold-render-") as scratch:
        dest = Path(scratch)
        try:
            copier.run_copy(
                str(Path(src).expanduser()) if not _is_url(src) else src,
                dest,
                data=json.loads(answers_json),
                vcs_ref=ref,
                defaults=True,
                quiet=True,
                unsafe=False,
            )
        except (CopierError, ValueError) as error:
            raise TemplateError(f"cannot render {src} at {ref}: {error}") from error
        files = sorted(path for path in dest.rglob("*") if path.is_file() or path.is_symlink())
        return tuple((path.relative_to(dest).as_posix(), blob_id(path)) for path in files)


def blob_id(path: Path) -> str:
    """The id git gives the file's contents (so renders compare with `git ls-tree`)."""
    data = path.read_bytes() if not path.is_symlink() else str(path.readlink()).encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def tree_blobs(project: Path, ref: str) -> dict[str, str]:
    """Every file of commit `ref`: path → blob id."""
    listing = _git.git("ls-tree", "-r", "-z", "--full-tree", ref, cwd=project)
    blobs = {}
    for entry in listing.split("\0"):
        if entry:
            meta, name = entry.split("\t", 1)
            blobs[name] = meta.split()[2]
    return blobs


def _is_url(src: str) -> bool:
    return "://" in src or src.startswith(("git@", "git+", "gh:", "gl:"))
