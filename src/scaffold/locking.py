"""Lock a project's dependencies with uv: a new project's first commit holds `uv.lock`, and
an update or feature switch that changes pyproject.toml relocks it.

Locking needs the package index. Where it cannot be reached the project is still created or
updated: the result says why, and the project's `make lock` does it later.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "uv.lock"
PIP_LOCK_FILE = "requirements.lock.txt"
# Dependency groups that `make install` leaves out (`make check` and `make airflow-install`
# install them on first use), so the pip pins leave them out too, as the generated Makefile's
# EXPORT_PINS does.
APART_GROUPS = ("check", "checkov", "airflow")
_TIMEOUT_S = 600


@dataclass(frozen=True)
class LockOutcome:
    """Whether the lock was written, and if not, why (one line)."""

    files: tuple[str, ...]
    problem: str | None = None


def uv_binary() -> str | None:
    """The uv that ships with scaffold (the `uv` wheel), else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _groups(project: Path) -> list[str]:
    """The dependency groups pyproject.toml declares (none if it cannot be read)."""
    try:
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    groups = data.get("dependency-groups", {})
    return list(groups) if isinstance(groups, dict) else []


def uv_failure(stderr: str) -> str:
    """The line of uv's output that says what failed: its last cause, or else its error."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for prefix in ("cause: ", "error: "):
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return found[-1].removeprefix(prefix)
    return lines[-1] if lines else ""


def lock(project: Path, *, pip_export: bool) -> LockOutcome:
    """`uv lock` in `project`; with `pip_export`, also the hashed pins for pip installs."""
    uv = uv_binary()
    if uv is None:
        return LockOutcome((), "uv is not installed")
    commands = [[uv, "lock", "--quiet"]]
    if pip_export:
        export = ["export", "--quiet", "--frozen", "--all-groups", "--no-emit-project"]
        skipped = [f"--no-group={name}" for name in _groups(project) if name in APART_GROUPS]
        commands.append([uv, *export, *skipped, "--output-file", PIP_LOCK_FILE])
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    # Without a Python the project supports, uv would try to download one: offline that fails
    # after a long wait, with a DNS error that does not say what is missing.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    existed = (project / LOCK_FILE).exists()  # a project's committed lock is never deleted
    for command in commands:
        try:
            done = subprocess.run(
                command,
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return LockOutcome((), f"uv {command[1]} took over {_TIMEOUT_S} s")
        if done.returncode != 0:
            reason = uv_failure(done.stderr) or f"exit code {done.returncode}"
            if not existed:
                (project / LOCK_FILE).unlink(missing_ok=True)
            return LockOutcome((), f"uv {command[1]} failed: {reason}")
    return LockOutcome((LOCK_FILE, PIP_LOCK_FILE) if pip_export else (LOCK_FILE,))
