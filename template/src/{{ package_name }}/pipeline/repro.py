"""What ``make repro`` runs: check params.yaml, then ``dvc repro``, one at a time per project.

Usage, from the project root::

    python -m <package>.pipeline.repro [DVC REPRO OPTIONS]

Two checks come before DVC starts, each failing in one line:

- params.yaml, as every stage checks it: DVC deletes a stage's outputs before it runs the
  stage, so a bad value is refused here while every output and the MLflow store are intact.
- One run at a time: a second ``make repro`` in the same project is refused while the first
  goes on. DVC's own locks would stop it too, but in several lines that name a file and a
  process ("ERROR: failed to reproduce 'prepare': '<file>' is busy, it is being blocked by:
  (PID ...)", then how to remove ``.dvc/tmp/rwlock`` by hand).

The lock is an ``flock`` on ``.dvc/tmp/repro.lock``. This process then becomes ``dvc repro``
(``exec``) and keeps the lock, so the kernel releases it whenever DVC ends, even when killed.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from ..cli import configure_logging, run_stage
from ..errors import StageError
from ..params import read_params
from ..settings import Settings

LOCK_FILE = Path(".dvc", "tmp", "repro.lock")


def take_lock(root: Path) -> int:
    """Lock the project for one ``dvc repro``; the descriptor survives ``exec``."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 20).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        raise StageError(
            f"refused: another `make repro` (PID {holder}) is running in this project; "
            "wait for it to finish"
        ) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, str(os.getpid()).encode())
    os.set_inheritable(descriptor, True)
    return descriptor


def main(argv: list[str] | None = None) -> int:
    """Check, lock, then become ``dvc repro`` with ``argv``; returns 1 if refused."""
    configure_logging()
    locks: list[int] = []

    def check_and_lock() -> None:
        settings = Settings()
        read_params(settings.params_file)
        locks.append(take_lock(settings.root))

    status = run_stage("repro", check_and_lock)
    if status:
        return status
    dvc = str(Path(sys.executable).with_name("dvc"))
    options = sys.argv[1:] if argv is None else argv
    return os.execv(dvc, [dvc, "repro", *options])  # pragma: no cover  # exec never returns


if __name__ == "__main__":
    raise SystemExit(main())
