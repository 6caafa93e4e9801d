"""Outputs written whole or not at all.

A stage that is stopped while it writes (SIGTERM, an error, a full disk) must not leave a
truncated CSV or model behind for the next stage, or for DVC to record. Each output is written
to a hidden temporary file beside it, then renamed over it: a rename within a directory is
atomic, so readers see the old file or the new one, never a part of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, else it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in UTF-8, atomically."""
    with atomic_output(path) as partial:
        partial.write_text(text, encoding="utf-8")
