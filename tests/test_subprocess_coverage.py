"""Coverage counts the scaffolder's own subprocesses, never a generated project's Pythons."""

from __future__ import annotations

import inspect
import os
import sysconfig
from pathlib import Path

import coverage

from scaffold._git import is_work_tree
from tests.conftest import SUBPROCESS_COVERAGE
from tests.support import BIN, REPO_ROOT, run

PROBE = (
    "import os, coverage, scaffold; "
    "print(coverage.Coverage.current() is not None, 'COVERAGE_PROCESS_CONFIG' in os.environ)"
)


def _config(data_file: Path) -> str:
    """This repository's coverage configuration, serialized, writing to `data_file`."""
    measuring = coverage.Coverage(
        data_file=str(data_file), config_file=str(REPO_ROOT / "pyproject.toml")
    )
    return measuring.config.serialize()


def test_the_test_process_passes_coverage_on_under_its_own_name_only() -> None:
    """coverage's variable would start it in every Python with coverage, projects' too."""
    assert "COVERAGE_PROCESS_CONFIG" not in os.environ
    measuring = coverage.Coverage.current() is not None
    assert (SUBPROCESS_COVERAGE in os.environ) == measuring


def test_a_scaffold_command_of_the_scaffolder_venv_measures_itself(tmp_path: Path) -> None:
    installed = Path(sysconfig.get_path("purelib")) / "scaffold_subprocess_coverage.pth"
    assert installed.is_file(), f"{installed} is missing: `make install` puts it there"
    env = {SUBPROCESS_COVERAGE: _config(tmp_path / ".coverage")}
    program = tmp_path / "scaffold"  # what the .pth file looks for: the console script's name
    program.write_text(PROBE + "\n", encoding="utf-8")

    done = run([BIN / "python", program], cwd=tmp_path, env=env)

    # Measured, and its own children learn it only through SCAFFOLD_COVERAGE_CONFIG.
    assert done.stdout.split() == ["True", "False"]
    written = list(tmp_path.glob(".coverage.*"))
    assert len(written) == 1, written
    measured = coverage.CoverageData(str(written[0]))
    measured.read()
    assert any(name.endswith("scaffold/__init__.py") for name in measured.measured_files())


def test_the_console_script_and_python_m_scaffold_are_measured(tmp_path: Path) -> None:
    env = {SUBPROCESS_COVERAGE: _config(tmp_path / ".coverage")}
    for command in (
        [BIN / "scaffold", "--version"],
        [BIN / "python", "-m", "scaffold", "--version"],
    ):
        run(command, cwd=tmp_path, env=env)
    assert len(list(tmp_path.glob(".coverage.*"))) == 2


def test_the_venvs_other_programs_are_not_measured(tmp_path: Path) -> None:
    """checkov, yamllint and the like run from this venv too: tracing them only costs time."""
    env = {SUBPROCESS_COVERAGE: _config(tmp_path / ".coverage")}

    done = run([BIN / "python", "-c", PROBE], cwd=tmp_path, env=env)

    assert done.stdout.split() == ["False", "False"]
    assert list(tmp_path.glob(".coverage*")) == []


def test_a_python_of_another_venv_with_coverage_does_not(tmp_path: Path) -> None:
    """A generated project's venv has coverage (its tests' gate) but not the .pth file."""
    venv = tmp_path / "venv"
    run(["uv", "venv", "--quiet", "--python", BIN / "python", venv], cwd=tmp_path)
    run(["uv", "pip", "install", "--quiet", "--python", venv / "bin" / "python",
         f"coverage=={coverage.__version__}"], cwd=tmp_path)  # fmt: skip
    env = {
        SUBPROCESS_COVERAGE: _config(tmp_path / ".coverage"),
        "PYTHONPATH": str(REPO_ROOT / "src"),
    }

    done = run([venv / "bin" / "python", "-c", PROBE], cwd=tmp_path, env=env)

    assert done.stdout.split() == ["False", "False"]
    assert list(tmp_path.glob(".coverage*")) == []


POOL = """
import coverage
coverage.process_startup()
from pathlib import Path
from scaffold._git import is_work_tree
from scaffold.fleet._work import run_each
print(run_each([Path("."), Path("..")], is_work_tree, jobs=2, processes=True))
"""


def test_the_workers_of_a_process_pool_measure_themselves(tmp_path: Path) -> None:
    """Fleet commands render in forked pool workers, which end with os._exit."""
    env = {"COVERAGE_PROCESS_CONFIG": _config(tmp_path / ".coverage")}

    done = run([BIN / "python", "-c", POOL], cwd=tmp_path, env=env)

    assert done.stdout.strip() == "[False, False]"
    combined = coverage.CoverageData(str(tmp_path / "combined"))
    for path in tmp_path.glob(".coverage.*"):
        part = coverage.CoverageData(str(path))
        part.read()
        combined.update(part)
    measured = {Path(name).resolve(): name for name in combined.measured_files()}
    source = Path(inspect.getsourcefile(is_work_tree) or "").resolve()
    lines, first = inspect.getsourcelines(is_work_tree)
    body = range(first + 1, first + len(lines))
    # Only the workers call it: its body counts only when they save their data.
    assert set(body) & set(combined.lines(measured[source]) or []), "no worker's data"
