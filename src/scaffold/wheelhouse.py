"""`scaffold wheelhouse DIR`: every wheel a project needs, for labs without a package index.

The project is rendered and locked in a temporary directory with the given answers (as
`scaffold new` would), its lock exported with hashes (`uv export --all-groups`), and pip
collects exactly those wheels (`pip wheel --no-deps`, hashes checked; uv has no download
command). The build backend (`[build-system] requires`, with its dependencies,
and what it asks for to build an editable install) and `uv` itself join them, so that the
generated project's `make install WHEELHOUSE=DIR` needs no index at all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import api, locking
from scaffold.errors import ScaffoldError

_TIMEOUT_S = 3600
_EDITABLE_REQUIRES = """
import importlib, json, sys
backend = importlib.import_module(sys.argv[1])
hook = getattr(backend, "get_requires_for_build_editable", None)
print(json.dumps(hook() if hook else []))
"""


@dataclass(frozen=True)
class Wheelhouse:
    """What `build` put in the directory."""

    path: Path
    wheels: int
    bytes: int
    seconds: float
    requirements: int
    """Pinned requirements of the project's lock (every group)."""


def build(
    dest: Path,
    answers: Mapping[str, Any],
    *,
    template: str | None = None,
    vcs_ref: str | None = None,
) -> Wheelhouse:
    """Download the wheels of a project with `answers` into `dest` (created; kept files stay).

    The wheels are for this machine's Python and platform: build it where the lab's match.
    """
    start = time.monotonic()
    uv = locking.uv_binary()
    if uv is None:
        raise ScaffoldError(
            "uv is needed to export the project's lock; install mlops-scaffold's uv"
        )
    dest = dest.expanduser().absolute()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScaffoldError(f"cannot create {dest}: {error.strerror or error}") from error
    with tempfile.TemporaryDirectory(prefix="scaffold-wheelhouse-") as scratch:
        work = Path(scratch)
        created = api.create(
            work / "project", answers, defaults=True, template=template, vcs_ref=vcs_ref,
            git_init=False,
        )  # fmt: skip
        if created.lock_problem:
            raise ScaffoldError(f"cannot lock the project: {created.lock_problem}")
        # pip wheel keeps each published wheel as it is and builds one only for the few
        # projects that publish none (e.g. antlr4-python3-runtime, an sdist), so that the
        # lab never builds anything.
        wheel = [*_pip(), "wheel", "--quiet", "--prefer-binary", "--wheel-dir", str(dest)]
        count = 0
        for selection, pins in _pin_sets(created.path, work):
            _run([uv, "export", "--quiet", "--frozen", *selection, "--no-emit-project",
                  "--output-file", str(pins)], created.path)  # fmt: skip
            _pip_wheel([*wheel, "--no-deps", "--require-hashes", "-r", str(pins)], work)
            text = pins.read_text(encoding="utf-8")
            count += sum(1 for line in text.splitlines() if "==" in line)
        backend = _build_requires(created.path)
        _run([*wheel, *backend, f"uv=={_uv_version(uv)}"], work)
        extra = _editable_requires(uv, created.path, dest, backend)
        if extra:
            _run([*wheel, *extra], work)
    wheels = sorted(dest.glob("*.whl"))
    size = sum(wheel.stat().st_size for wheel in wheels)
    return Wheelhouse(dest, len(wheels), size, time.monotonic() - start, count)


def _pin_sets(project: Path, work: Path) -> list[tuple[list[str], Path]]:
    """The `uv export` selections to download, each with its pins file. A dependency group
    declared in conflict with the default ones (checkov's, resolved in a fork of its own)
    cannot be exported with them: it gets a set of its own."""
    settings = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    uv = settings.get("tool", {}).get("uv", {})
    defaults = set(uv.get("default-groups", ["dev"]))  # uv's default
    apart = sorted(
        {
            str(entry["group"])
            for conflict in uv.get("conflicts", [])
            for entry in conflict
            if isinstance(entry, dict) and entry.get("group") not in (None, *defaults)
        }
    )
    together = ["--all-groups", *(f"--no-group={group}" for group in apart)]
    sets = [(together, work / "requirements.txt")]
    sets += [(["--only-group", group], work / f"requirements-{group}.txt") for group in apart]
    return sets


def _pip() -> list[str]:
    """pip of this environment, or pip run by uv where scaffold was installed without it."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    uv = locking.uv_binary()
    assert uv is not None  # checked by the caller
    return [uv, "tool", "run", "--from", "pip", "pip"]


def _build_requires(project: Path) -> list[str]:
    data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    requires = data.get("build-system", {}).get("requires", [])
    return [str(item) for item in requires]


def _editable_requires(uv: str, project: Path, wheels: Path, backend: Sequence[str]) -> list[str]:
    """What the build backend asks for to build an editable install (PEP 660), e.g.
    hatchling's `editables`: asked of the backend itself, installed from `wheels`."""
    name = (
        tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
        .get("build-system", {})
        .get("build-backend")
    )
    if not name:
        return []
    with tempfile.TemporaryDirectory(prefix="scaffold-backend-") as scratch:
        venv = Path(scratch) / "venv"
        _run([uv, "venv", "--quiet", str(venv)], project)
        python = venv / "bin" / "python"
        offline = ["--offline", "--no-index", "--find-links", str(wheels)]
        _run(
            [uv, "pip", "install", "--quiet", "--python", str(python), *offline, *backend], project
        )
        out = _run([str(python), "-c", _EDITABLE_REQUIRES, str(name)], project)
    return [str(item) for item in json.loads(out.strip().splitlines()[-1])]


def _uv_version(uv: str) -> str:
    return _run([uv, "--version"], Path.cwd()).split()[1]


def _pip_wheel(command: Sequence[str], cwd: Path) -> None:
    """`pip wheel`, once more without pip's cache when it found no release for a pin.

    pip keeps a package's index page for up to ten minutes (PyPI's max-age), so a release that
    `uv lock` has just seen can be missing from pip's copy: seen in a test run as "No matching
    distribution found for markdown==3.11.4", which pip then downloaded fine.
    """
    try:
        _run(command, cwd)
    except ScaffoldError as error:
        if "No matching distribution" not in error.message:
            raise
        _run([*command, "--no-cache-dir"], cwd)


def _run(command: Sequence[str], cwd: Path) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    try:
        done = subprocess.run(
            list(command), cwd=cwd, env=env, capture_output=True, text=True, check=False,
            timeout=_TIMEOUT_S,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ScaffoldError(f"{Path(command[0]).name} could not run: {error}") from error
    if done.returncode != 0:
        lines = [
            line for line in done.stderr.splitlines() if line.strip() and "WARNING" not in line
        ]
        reason = lines[-1].strip() if lines else f"exit code {done.returncode}"
        what = " ".join(part for part in command[:4] if not part.startswith("-") or part == "-m")
        raise ScaffoldError(f"{what.replace(sys.executable, 'python')} failed: {reason}")
    return done.stdout
