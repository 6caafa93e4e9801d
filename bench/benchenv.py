"""What every benchmark script shares: where the tools are, and a clean environment for them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent  # the venv running the benchmark: scaffold, copier, uv
REPO = Path(__file__).resolve().parents[1]
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


# ── commands, and the two sides of a comparison (this checkout, a baseline commit) ────────────


def run(cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> float:
    """Run a command with its output captured and return its wall time; stop on failure."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(c) for c in cmd], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        sys.exit(f"failed ({done.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return elapsed


def output(cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> str:
    """A command's standard output, stripped; stop on failure."""
    done = subprocess.run(
        [str(c) for c in cmd], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(map(str, cmd))}\n{done.stderr[-3000:]}")
    return done.stdout.strip()


@dataclass(frozen=True)
class Side:
    """One side of the comparison: its name, what it is, and the venv bin holding scaffold."""

    name: str
    label: str
    bin: Path


def current_side() -> Side:
    """This checkout: the working tree as it is, installed (editable) in the venv running us."""
    if not (BIN / "scaffold").exists():
        script = Path(sys.argv[0]).name
        sys.exit(f"no scaffold next to {sys.executable}; run: .venv/bin/python bench/{script}")
    head = output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = output(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    return Side("current", f"{head}{' + uncommitted changes' if dirty else ''}", BIN)


def baseline_side(ref: str, root: Path) -> Side:
    """REF checked out as a git worktree under `root`, installed into a venv of its own.

    The venv gets uv with pip, then the worktree (editable, bytecode compiled) with uv, so the
    baseline's `scaffold` renders the baseline's template and the Makefile finds uv on PATH.
    """
    commit = output(["git", "-C", REPO, "rev-parse", "--verify", f"{ref}^{{commit}}"])
    source, venv = root / "src", root / "venv"
    run(["git", "-C", REPO, "worktree", "add", "--detach", source, commit])
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"])
    uv_install = ["pip", "install", "--quiet", "--compile-bytecode", "--python", python]
    run([venv / "bin" / "uv", *uv_install, "-e", source])
    label = commit[:7] if commit.startswith(ref) else f"{ref} = {commit[:7]}"
    return Side("baseline", label, venv / "bin")


def remove_worktree(path: Path) -> None:
    """Unregister and delete a worktree made by `baseline_side` (quietly if it never was)."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
        capture_output=True,
        check=False,
    )


# ── the container engine of `make container-engine` (.ci/container-engine) ──────────────────


def engine_settings() -> dict[str, str]:
    """engine.env as a shell reads it: CONTAINER_ENGINE, CONTAINER_BUILD_FLAGS and its env."""
    cache = os.environ.get("MLOPS_SCAFFOLD_CONTAINERS") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "mlops-scaffold"
        / "containers"
    )
    path = Path(cache) / "engine.env"
    if not path.is_file():
        sys.exit(f"no {path}: run `make container-engine` first")
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = "".join(shlex.split(value))
    return pairs
