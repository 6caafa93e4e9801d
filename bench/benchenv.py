"""What every benchmark script shares: where the tools are, and a clean environment for them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BIN = Path(sys.executable).parent  # the venv running the benchmark: scaffold, copier, uv
IDENTITY = {
    f"GIT_{role}_{field}": value
    for role in ("AUTHOR", "COMMITTER")
    for field, value in (("NAME", "bench"), ("EMAIL", "bench@localhost"))
}
# Set by an outer `make bench`; they would leak its variables into a generated project's make.
OUTER_MAKE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VIRTUAL_ENV")


def make_env(home: Path, bin_dir: Path = BIN) -> dict[str, str]:
    """A private SCAFFOLD_HOME, a git identity, and a venv (with uv) first on PATH.

    `bin_dir` is that venv's bin directory: by default the one running the benchmark.
    """
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE}
    path = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **IDENTITY, "SCAFFOLD_HOME": str(home), "PATH": path}
