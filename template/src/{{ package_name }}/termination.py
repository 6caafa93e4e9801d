"""SIGTERM, as CI runners, schedulers and Kubernetes send it, ends a stage like an error.

Python's default for SIGTERM kills the process on the spot: an MLflow run would stay
``RUNNING`` forever and a file could be left half-written. :func:`sigterm_raises` turns the
signal into :class:`Terminated` instead, so ``with mlflow.start_run()`` ends the run as
``FAILED``, ``finally`` blocks clean up, and the stage exits with status 143 (128 + SIGTERM).
:func:`sigterm_deferred` holds the signal back across steps that must not be cut in two.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

EXIT_STATUS = 128 + signal.SIGTERM


class Terminated(BaseException):
    """The process received SIGTERM (a BaseException, like KeyboardInterrupt: never swallowed
    by an ``except Exception``)."""


@dataclass
class _Deferral:
    """How many deferred-signal blocks are open, and whether a signal arrived meanwhile."""

    depth: int = 0
    pending: bool = False


_DEFERRAL = _Deferral()


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    if _DEFERRAL.depth:
        _DEFERRAL.pending = True
        return
    # Once raised, later SIGTERMs are ignored so that the cleanup runs to its end.
    signal.signal(signum, signal.SIG_IGN)
    raise Terminated(f"terminated by {signal.Signals(signum).name}")


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated`; the previous handler comes back."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
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
        _DEFERRAL.pending = False
        _on_sigterm(signal.SIGTERM, None)
