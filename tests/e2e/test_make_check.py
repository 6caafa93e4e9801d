"""E2E: `make check` in the default project runs every check that applies and passes (its
pytest row is `make test`, with the coverage gate); a fault in one check's input fails that row
and the run while the other checks still run.

The first `make check` installs the validators (the `check` group into the venv, checkov into
.venv/checkov). The faults go into a copy of the project that shares its venv (VENV=...).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

EXPECTED = [
    "ruff",
    "ruff-format",
    "pylint",
    "mypy",
    "pytest",
    "dvc-status",
    "hadolint",
    "checkov-dockerfile",
    "helm-lint",
    "kube-schema",
    "checkov-chart",
    "actionlint",
    "zizmor",
    "checkov-workflows",
]


def _rows(stdout: str) -> dict[str, list[str]]:
    """The table `make check` prints: check name -> [result, count, unit, time, "s"]."""
    lines = stdout.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split() == ["check", "result", "count", "time"]
    )
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        name, *cells = line.split()
        rows[name] = cells
    return rows


def _package_location(project: Path) -> str:
    """Where the project's venv imports its package from."""
    probe = f"import {DEFAULT_PACKAGE}; print({DEFAULT_PACKAGE}.__file__)"
    return run([project / ".venv/bin/python", "-c", probe], cwd=project).stdout.strip()


def test_make_check_passes_every_check_of_the_default_project(default_project: Path) -> None:
    before = run(["git", "status", "--porcelain"], cwd=default_project).stdout

    done = run(["make", "check"], cwd=default_project, timeout=2400)

    rows = _rows(done.stdout)
    assert list(rows) == EXPECTED
    assert {name: cells[0] for name, cells in rows.items()} == dict.fromkeys(EXPECTED, "PASS")
    assert int(rows["pytest"][1]) > 100 and rows["pytest"][2] == "passed"
    findings = {name: cells[1] for name, cells in rows.items() if cells[2] == "findings"}
    assert set(findings.values()) == {"0"} and len(findings) == len(EXPECTED) - 2
    assert f"{len(EXPECTED)} checks, 0 failed" in done.stdout
    logs = default_project / "build" / "check"
    assert {path.stem for path in logs.glob("*.log")} == set(EXPECTED)
    assert (logs / "chart" / "default.yaml").stat().st_size > 0  # what checkov-chart scanned
    # The pytest row is `make test`'s command: the suite passed under its coverage gate.
    tested = (logs / "pytest.log").read_text(encoding="utf-8")
    recipe = run(["make", "-n", "test"], cwd=default_project).stdout.splitlines()[-1]
    assert tested.splitlines()[0] == f"$ {recipe}"
    assert re.search(r"\d+ passed", tested)
    assert "Required test coverage of" in tested
    assert run(["git", "status", "--porcelain"], cwd=default_project).stdout == before


def test_a_fault_fails_its_row_and_the_run_while_the_rest_still_run(
    default_project: Path, tmp_path: Path
) -> None:
    # The validators first, from the shared project itself: were they missing, the copy's
    # `make` would install them with `uv sync` from the copy, and so repoint the shared venv's
    # editable package at the copy (every later test of the shared project then ran the copy).
    run(["make", ".venv/.check.stamp"], cwd=default_project, timeout=1800)
    package = _package_location(default_project)
    copy = tmp_path / "faulty"
    shutil.copytree(default_project, copy, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text(encoding="utf-8") + "RUN cd /tmp && apt-get install curl\n",
        encoding="utf-8",
    )
    workflow = copy / ".github" / "workflows" / "ci.yml"
    text = workflow.read_text(encoding="utf-8")
    workflow.write_text(text.replace("runs-on: ubuntu-24.04", "runs-on: ${{ matrix.nope }}", 1))
    chosen = ["hadolint", "ruff", "actionlint", "zizmor", "dvc-status"]

    done = run(
        ["make", "check", f"VENV={default_project / '.venv'}", f"CHECKS={' '.join(chosen)}"],
        cwd=copy,
        timeout=1800,
        check=False,
    )

    assert done.returncode != 0
    rows = _rows(done.stdout)
    assert list(rows) == chosen
    results = {name: cells[0] for name, cells in rows.items()}
    assert results == {
        "hadolint": "FAIL",
        "ruff": "PASS",
        "actionlint": "FAIL",
        "zizmor": "PASS",
        "dvc-status": "PASS",
    }
    assert int(rows["hadolint"][1]) >= 2 and int(rows["actionlint"][1]) >= 1
    assert "5 checks, 2 failed" in done.stdout
    # Each failure is explained under the table: the findings, and where the full log is.
    assert "DL3003" in done.stdout and "DL3008" in done.stdout
    assert 'property "nope" is not defined' in done.stdout
    assert "full output in build/check/hadolint.log" in done.stdout
    assert _package_location(default_project) == package  # the shared venv was left as it was
