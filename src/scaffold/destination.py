"""Where a new project lands: checks on the destination, the hidden sibling it is rendered
in, and the move into place, so that a failure or a signal leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scaffold.errors import DestinationError

# The hidden sibling a project is rendered in: "." + name + "." + 8 random characters + ".scaffold".
_STAGING_EXTRA = len("..") + 8 + len(".scaffold")


def check_name_lengths(dest: Path) -> None:
    """Refuse a destination whose names (or its staging sibling's) the file system cannot hold.

    The limit is per path component, in bytes of the encoded name (255 on most file systems).
    """
    existing = next((parent for parent in dest.parents if os.path.isdir(parent)), Path("/"))
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in dest.relative_to(existing).parts:
        size = len(os.fsencode(part)) + (_STAGING_EXTRA if part == dest.name else 0)
        if size > limit:
            raise DestinationError(
                f"destination name '{part[:40]}…' is too long: the file system allows "
                f"{limit - (_STAGING_EXTRA if part == dest.name else 0)} bytes here, "
                f"it has {len(os.fsencode(part))}"
            )


def check_destination(dest: Path, force: bool) -> None:
    if dest.is_symlink() and not dest.exists():
        raise DestinationError(f"destination {dest} is a symbolic link to nothing")
    if dest.exists() and not dest.is_dir():
        raise DestinationError(f"destination {dest} exists and is not a directory")
    for parent in dest.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DestinationError(f"cannot create {dest}: {parent} is not a directory")
            break
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise DestinationError(f"destination {dest} is not empty; pass --force to write into it")


def make_directory(directory: Path) -> list[Path]:
    """Create `directory` with its missing parents; return those created, deepest first."""
    missing = []
    for path in (directory, *directory.parents):
        if path.exists():
            break
        missing.append(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        remove_empty(missing)
        raise DestinationError(f"cannot create {directory}: {_reason(error)}") from error
    return missing


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back while the block runs (in the main thread).

    A signal that arrives meanwhile is delivered when the block ends, so its handler's
    exception lands where the caller's clean-up can see what the block made.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def make_staging(dest: Path) -> Path:
    """A hidden sibling of `dest` to render into, moved into place only on success."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".scaffold", dir=dest.parent))
    except OSError as error:
        raise DestinationError(f"cannot write in {dest.parent}: {_reason(error)}") from error


def remove_empty(directories: Iterable[Path]) -> None:
    """Remove directories this run created (deepest first), as long as they are empty."""
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def move_into_place(staging: Path, dest: Path) -> None:
    if dest.is_dir() and any(dest.iterdir()):
        if (staging / ".git").is_dir() and (dest / ".git").exists():
            shutil.rmtree(staging / ".git")
        shutil.copytree(staging, dest, dirs_exist_ok=True, symlinks=True)
        return
    if dest.is_dir():
        dest.rmdir()
    os.replace(staging, dest)
