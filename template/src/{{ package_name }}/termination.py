"""SIGTERM, as CI runners, schedulers and Kubernetes send it, ends a stage like an error.

Python's default for SIGTERM kills the process on the spot: an MLflow run would stay
``RUNNING`` forever and a file could be left half-written. :func:`sigterm_raises` turns the
signal into :class:`Terminated` instead, so ``with mlflow.start_run()`` ends the run as
``FAILED``, ``finally`` blocks clean up, and the stage exits with status 143 (128 + SIGTERM).

The exception is never raised inside the database code of MLflow's tracking store: cut there,
a SQLite transaction stays open and locks the store, and MLflow could not even mark the run
failed. Nor is it raised while a module is imported: a native extension's initialisation turns
it into ``ImportError: initialization failed`` (seen with onnxruntime). The signal then waits
for that code to return: a watcher thread sends it again every
50 ms while it is pending (not SIGALRM, which MLflow uses for time-outs of its own).
:func:`sigterm_deferred` holds it back across several steps that must not be cut in two.
"""

from __future__ import annotations

import inspect
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

EXIT_STATUS = 128 + signal.SIGTERM
# Code that an exception must not interrupt: MLflow's stores, the database code below them,
# and Python's import machinery.
UNINTERRUPTIBLE = ("mlflow.store.", "sqlalchemy.", "alembic.", "sqlite3", "importlib._bootstrap")
RETRY_SECONDS = 0.05


class Terminated(BaseException):
    """The process received SIGTERM (a BaseException, like KeyboardInterrupt: never swallowed
    by an ``except Exception``)."""


@dataclass
class _Deferral:
    """How many deferred-signal blocks are open, and whether a signal arrived meanwhile."""

    depth: int = 0
    pending: bool = False


_DEFERRAL = _Deferral()


def _uninterruptible(frame: FrameType | None) -> bool:
    """Whether ``frame`` or one of its callers runs database code."""
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(UNINTERRUPTIBLE):
            return True
        frame = frame.f_back
    return False


def _send_again_while_pending(stop: threading.Event) -> None:
    """The watcher: a signal that waits for MLflow is sent again until it can be raised."""
    while not stop.wait(RETRY_SECONDS):
        if _DEFERRAL.pending and not _DEFERRAL.depth:
            os.kill(os.getpid(), signal.SIGTERM)


def _on_sigterm(_signum: int, frame: FrameType | None) -> None:
    _DEFERRAL.pending = True
    if _DEFERRAL.depth:
        return  # sigterm_deferred raises it at the end of its block
    if _uninterruptible(frame):
        return  # the watcher sends it again
    _DEFERRAL.pending = False
    # Once raised, later SIGTERMs are ignored so that the cleanup runs to its end.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated("terminated by SIGTERM")


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated`; the previous handlers come back."""
    stop = threading.Event()
    watcher = threading.Thread(target=_send_again_while_pending, args=(stop,), daemon=True)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        _DEFERRAL.pending = False
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def sigterm_deferred() -> Iterator[None]:
    """A SIGTERM that arrives within the block is raised when the block has completed."""
    _DEFERRAL.depth += 1
    try:
        yield
    finally:
        _DEFERRAL.depth -= 1
    if not _DEFERRAL.depth and _DEFERRAL.pending:
        _on_sigterm(signal.SIGTERM, inspect.currentframe())
