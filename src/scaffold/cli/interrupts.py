"""Ctrl-C and the stop signals: what the error funnel reports when a command is stopped.

SIGTERM (CI timeouts) and SIGHUP (a closed terminal) are raised like Ctrl-C while a command
runs, so that the same clean-up runs and the same line is printed; a command says with
`leaves` what state a stop leaves behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

NOTHING_LEFT = "nothing was left behind"
_LEAVES = "scaffold.interrupted_leaves"


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that the same clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signum)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP interrupt it as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in stops}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stopped_by(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or stop signal that `error` is, or was raised while handling, if any.

    A library's clean-up that fails as the interruption unwinds (copier's temporary
    directory still being written by git) counts as the interruption, not as its own error.
    """
    seen: BaseException | None = error
    for _ in range(100):  # a context chain is short; this only bounds a pathological one
        if seen is None or isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__context__
    return None


def exit_code(stopped: KeyboardInterrupt) -> int:
    """128 + the signal's number, as shells report it: 130 for Ctrl-C."""
    return 128 + getattr(stopped, "signum", signal.SIGINT)


def leaves(state: str) -> None:
    """Tell the user `interrupted; <state>` if the running command is stopped from now on."""
    click.get_current_context().meta[_LEAVES] = state


def left_behind(ctx: click.Context) -> str:
    """What the command said a stop leaves behind; by default, nothing."""
    return str(ctx.meta.get(_LEAVES, NOTHING_LEFT))
