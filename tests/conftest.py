"""Test-wide isolation: a private template mirror, a git identity, this venv's tools on PATH."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import coverage
import pytest

from tests.support import BIN

# Read by .ci/subprocess-coverage.pth, which `make install` puts into the scaffolder's venv only.
SUBPROCESS_COVERAGE = "SCAFFOLD_COVERAGE_CONFIG"


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the user's mirror and git config out; put uv and the tools on PATH like a venv.

    Under pytest-cov, the scaffolder's Pythons that the tests start measure coverage too
    (never a generated project's: see .ci/subprocess-coverage.pth).
    """
    patch = pytest.MonkeyPatch()
    patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    home = tmp_path_factory.mktemp("scaffold-home")
    patch.setenv("SCAFFOLD_HOME", str(home))
    for role in ("AUTHOR", "COMMITTER"):
        patch.setenv(f"GIT_{role}_NAME", "Test User")
        patch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    measuring = coverage.Coverage.current()
    if measuring is not None:  # pytest-cov: count the `scaffold` commands the tests start too
        patch.setenv(SUBPROCESS_COVERAGE, measuring.config.serialize())
    yield home
    patch.undo()


_KERNEL_STATUS = Path("/proc/thread-self/status")


def _signal_state() -> dict[str, object]:
    """This thread's signal mask and every catchable signal's disposition.

    A child process inherits an ignored or blocked signal: one test that leaves SIGINT
    ignored in the worker makes a later test's Ctrl-C do nothing. Python's view misses what
    a native library sets, so on Linux the kernel's (SigBlk, SigIgn) is compared too.
    """
    state: dict[str, object] = {"mask": signal.pthread_sigmask(signal.SIG_BLOCK, ())}
    for signum in signal.valid_signals():
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            state[signal.strsignal(signum) or str(signum)] = signal.getsignal(signum)
    if _KERNEL_STATUS.is_file():
        for line in _KERNEL_STATUS.read_text(encoding="ascii").splitlines():
            key, _, value = line.partition(":")
            if key in {"SigBlk", "SigIgn"}:
                state[key] = value.strip()
    return state


@pytest.fixture(autouse=True)
def signals_restored() -> Iterator[None]:
    """Fail the test that changes a signal's disposition or the mask and does not restore it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = _signal_state()
    yield
    after = _signal_state()
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"signal dispositions left changed (before, after): {changed}"


# The e2e tests that share the installed and trained project (tests/e2e/conftest.py) run on
# one xdist worker, so `pytest -n 2 --dist loadgroup` builds that project once; the other
# worker takes the tests that make their own projects (updates, upgrades, classes…). By name:
# a module's own fixture must not be called like one of these.
SHARED_PROJECT = frozenset({"default_project", "trained", "held_back"})


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its own hook of this name)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests that use the shared e2e project (a no-op without xdist)."""
    for item in items:
        if SHARED_PROJECT.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("shared-project"))
