"""mypy --strict passes on the package of every render of the option matrix.

The renders differ in code by the serving feature (the ``serve`` package and the modules read
as untyped), the package's name and the minimum Python (mypy's ``python_version``); the task
and a team's own table change data/, params.yaml and the tests, not the package. One venv
checks them all: the shared default project's, whose `make install` brought mypy and the
stubs (the renders have none), with one mypy cache for every render.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.support import option_matrix, render, run, scaffold

pytestmark = pytest.mark.e2e

STUBS = {"joblib-stubs", "pandas-stubs", "pyarrow-stubs", "scipy-stubs", "types-pyyaml"}


def _id(answers: dict[str, Any]) -> str:
    serving = "serving" if answers["serving"] else "no-serving"
    return f"{answers['python_version']}-{answers['installer']}-{serving}"


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for every render: the libraries are analysed once."""
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(project: Path, default_project: Path, cache: Path) -> str:
    """The shared venv's mypy on ``project``, with the project's own configuration."""
    mypy = default_project / ".venv/bin/mypy"
    done = run([mypy, "--cache-dir", cache], cwd=project, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("answers", option_matrix(), ids=_id)
def test_every_render_passes_mypy_strict(
    answers: dict[str, Any],
    tmp_path: Path,
    default_project: Path,
    mypy_cache: Path,
) -> None:
    project = render(tmp_path / "project", **answers)
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    assert (mypy["strict"], mypy["python_version"]) == (True, answers["python_version"])
    untyped = {name for override in mypy["overrides"] for name in override["module"]}
    assert untyped == (
        {"onnxruntime.*", "skl2onnx.*", "sklearn.*", "statsmodels.*"}
        if answers["serving"]
        else {"sklearn.*", "statsmodels.*"}
    )
    said = _mypy(project, default_project, mypy_cache)
    checked = re.search(r"no issues found in (\d+) source files", said)
    assert checked and int(checked[1]) >= (50 if answers["serving"] else 35)


def test_the_locks_carry_mypy_and_the_stubs(
    tmp_path: Path, default_project: Path, mypy_cache: Path
) -> None:
    """The default project's uv.lock, and a pip project's requirements.lock.txt (serving off:
    no protobuf stubs), pin mypy and the stubs `make install` installs; that project passes."""
    locked = _pins((default_project / "uv.lock").read_text(encoding="utf-8"), r'name = "([^"]+)"')
    assert {"mypy", "types-protobuf", *STUBS} <= locked
    done = scaffold(
        "new", "-q", "lean", "--defaults", "-d", "installer=pip", "-d", "serving=false",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    project = tmp_path / "lean"
    pinned = _pins(
        (project / "requirements.lock.txt").read_text(encoding="utf-8"), r"^([A-Za-z0-9_.-]+)=="
    )
    assert {"mypy", *STUBS} <= pinned
    assert "types-protobuf" not in pinned
    _mypy(project, default_project, mypy_cache)


def _pins(text: str, pattern: str) -> set[str]:
    return {name.lower() for name in re.findall(pattern, text, flags=re.MULTILINE)}
