""".ci/container-engine's cache check: only a tarball that mmdebstrap finished is trusted."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

SETUP = REPO_ROOT / ".ci" / "container-engine"


def _trusted(tarball: Path) -> bool:
    """Ask the script's own check (the script is sourced: its main does not run)."""
    check = subprocess.run(
        ["bash", "-c", 'source "$1" && standin_tarball_ok "$2"', "check", SETUP, tarball],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode in {0, 1}, check.stderr
    assert check.stdout == "", check.stdout  # sourcing ran nothing
    return check.returncode == 0


@pytest.fixture
def tarball(tmp_path: Path) -> Path:
    """A finished stand-in: a real tar with the SHA-256 written after it."""
    source = tmp_path / "usr" / "bin" / "python3"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    path = tmp_path / "standin.tar"
    with tarfile.open(path, "w") as archive:
        archive.add(tmp_path / "usr", arcname="./usr")
    path.with_name(path.name + ".sha256").write_text(
        hashlib.sha256(path.read_bytes()).hexdigest() + "\n", encoding="ascii"
    )
    return path


def test_a_finished_tarball_is_trusted(tarball: Path) -> None:
    assert _trusted(tarball)


def test_a_directory_left_by_the_old_script_is_not(tarball: Path) -> None:
    """mmdebstrap wrote a directory tree for a '.part' target, renamed to the tarball's name."""
    tarball.unlink()
    (tarball / "usr" / "bin").mkdir(parents=True)
    assert not _trusted(tarball)


def test_a_tarball_cut_short_is_not(tarball: Path) -> None:
    data = tarball.read_bytes()
    tarball.write_bytes(data[: len(data) // 2])
    assert not _trusted(tarball)


def test_a_tarball_without_its_checksum_is_not(tarball: Path) -> None:
    """One from before the checksum existed, or one whose rename the run did not finish."""
    tarball.with_name(tarball.name + ".sha256").unlink()
    assert not _trusted(tarball)
