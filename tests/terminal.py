"""Commands run as in a user's terminal: a pseudo-terminal, Ctrl-C as a shell delivers it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Children started in the block get SIGINT's default disposition, as a terminal's job has.

    A shell without job control starts a background job (`make check &` in a script) with
    SIGINT ignored; the pytest workers inherit that, and so did the command under test, which
    then kept ignoring Ctrl-C as every program should (Python does not install its handler over
    an inherited SIG_IGN). A caught signal is reset to its default by exec: catching it here for
    the moment of the fork is enough.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def read_terminal(
    master: int, process: subprocess.Popen[bytes], until: bytes | None = None
) -> bytes:
    """Read the terminal until `until` shows, or else the command ends (two minutes at most);
    answer cursor queries."""
    seen = b""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if until is not None and until in seen:
            break
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the command closed the terminal
                break
            seen += chunk
            if b"\x1b[6n" in chunk:  # prompt_toolkit asks where the cursor is
                os.write(master, b"\x1b[1;1R")
    return seen


@contextmanager
def in_a_terminal(
    command: list[str | Path], cwd: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`command` in a pseudo-terminal that is its controlling terminal, as in a shell: Ctrl-C
    typed there is SIGINT (or, in a prompt's raw mode, a key). Yields the process and the
    terminal's master end; kills the process if the block leaves it running."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with (
        sigint_as_in_a_terminal(),
        subprocess.Popen(
            ["setsid", "--ctty", "--wait", *command],  # a session of its own, on that terminal
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "TERM": "xterm"},
        ) as process,
    ):
        os.close(slave)
        try:
            yield process, master
        finally:
            if process.poll() is None:
                process.kill()
            os.close(master)
