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

from packaging.version import InvalidVersion, Version

from scaffold import _git, copying, source
from scaffold.errors import InvalidAnswerError, TemplateError

_DESCRIBED = re.compile(r"^(?P<tag>.+)-\d+-g[0-9a-f]+$")  # `git describe --tags` past a tag
_lock = threading.Lock()


def versions(src: str) -> tuple[str, ...]:
    """The template's versions, oldest first; the last one is what an update brings."""
    with _lock:  # one listing (and one mirror sync) per source, even from many threads
        return _versions(src)


@cache
def _versions(src: str) -> tuple[str, ...]:
    if source.is_mirror(src):
        source.sync_mirror()
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
    key = json.dumps(copying.user_answers(answers), sort_keys=True, default=str)
    return dict(_rendered(src, ref, key))


@cache
def _rendered(src: str, ref: str, answers_json: str) -> tuple[tuple[str, str], ...]:
    with tempfile.TemporaryDirectory(prefix="scaffold-render-") as scratch:
        dest = Path(scratch)
        try:
            copying.render(src, ref, dest, json.loads(answers_json), defaults=True)
        except (InvalidAnswerError, TemplateError) as error:
            raise TemplateError(f"cannot render {src} at {ref}: {error.message}") from error
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
