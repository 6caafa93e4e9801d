"""A freshly generated project works on its first command: install, lint, hooks, format (its
tests: `make check`'s pytest row, tests/e2e/test_make_check.py)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support import freeze, makefile_text, render, run, scaffold

pytestmark = pytest.mark.e2e


def _targets(project: Path) -> set[str]:
    """The documented targets (`name: ... ## what it does`) of the Makefile and make/*.mk."""
    return set(re.findall(r"^([a-z][\w-]*):.*## ", makefile_text(project), flags=re.MULTILINE))


def _path_without(*tools: str) -> str:
    """PATH minus every directory that holds one of `tools`."""
    return os.pathsep.join(
        entry
        for entry in os.environ["PATH"].split(os.pathsep)
        if not any((Path(entry) / tool).exists() for tool in tools)
    )


def test_help_is_default_and_lists_every_target(default_project: Path) -> None:
    shown = run(["make"], cwd=default_project).stdout
    targets = _targets(default_project)
    assert {"help", "venv", "install", "lint", "format", "test", "clean"} <= targets
    assert [target for target in targets if target not in shown] == []


def test_install_is_idempotent(default_project: Path) -> None:
    again = run(["make", "install"], cwd=default_project)
    assert "uv sync" not in again.stdout
    assert "venv" not in again.stdout.replace("Nothing to be done", "")


def test_lint_scores_ten(default_project: Path) -> None:
    linted = run(["make", "lint"], cwd=default_project)
    assert "rated at 10.00/10" in linted.stdout


# The hooks of the generated .pre-commit-config.yaml that run `make lint`'s linters.
LINTER_HOOKS = ("ruff-check", "ruff-format", "pylint", "mypy")


def test_pre_commit_hooks_pass_offline_and_catch_conflicts(default_project: Path) -> None:
    run(["make", "pre-commit"], cwd=default_project)
    leftover = default_project / "merge_leftover.txt"
    leftover.write_text("a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> branch\n")
    rejected = default_project / "Makefile.rej"
    rejected.write_text("rejected hunk\n")
    try:
        run(["git", "add", leftover.name, rejected.name], cwd=default_project)
        # The linters passed above on the same code: this run needs only the conflict hooks.
        skip = {"SKIP": ",".join(LINTER_HOOKS)}
        failed = run(["make", "pre-commit"], cwd=default_project, env=skip, check=False)
        assert failed.returncode != 0
        assert "merge_leftover.txt" in failed.stdout
        assert "Makefile.rej" in failed.stdout
        assert failed.stdout.count("Skipped") == len(LINTER_HOOKS)  # hook ids SKIP matched
    finally:
        run(["git", "rm", "--cached", "--quiet", leftover.name, rejected.name], cwd=default_project)
        leftover.unlink()
        rejected.unlink()


def test_git_hook_runs_the_venv_linters_without_activation(default_project: Path) -> None:
    """`make install` installs the hook; `git commit` lints with .venv's tools, venv inactive."""
    env = {"PATH": _path_without("ruff", "pylint", "mypy", "pre-commit"), "VIRTUAL_ENV": ""}
    module = default_project / "tests" / "test_hook_probe.py"
    module.write_text(
        '"""Probe."""\n\nimport os\n\n\ndef test_probe() -> None:\n    """Probe."""\n'
    )
    try:
        run(["git", "add", str(module)], cwd=default_project)
        rejected = run(
            ["git", "commit", "-m", "unused import"], cwd=default_project, env=env, check=False
        )
        assert rejected.returncode != 0
        assert "F401" in rejected.stdout + rejected.stderr
        module.write_text('"""Probe."""\n\n\ndef test_probe() -> None:\n    """Probe."""\n')
        run(["git", "add", str(module)], cwd=default_project)
        run(["git", "commit", "-m", "clean probe"], cwd=default_project, env=env)
        run(["git", "reset", "--quiet", "--hard", "HEAD~1"], cwd=default_project)
    finally:
        run(["git", "reset", "--quiet"], cwd=default_project)
        module.unlink(missing_ok=True)


def test_format_leaves_the_tree_clean(default_project: Path) -> None:
    run(["make", "format"], cwd=default_project)
    assert run(["git", "status", "--porcelain"], cwd=default_project).stdout == ""


def test_clean_keeps_sources(default_project: Path) -> None:
    run(["make", "clean"], cwd=default_project)
    assert run(["git", "status", "--porcelain"], cwd=default_project).stdout == ""
    assert (default_project / ".venv").is_dir()


def test_uv_is_installed_once_when_it_is_not_on_path(
    default_project: Path, installed_packages: set[str], tmp_path: Path
) -> None:
    """Most machines have no uv: `make install` installs it with pip, then installs the lock."""
    assert shutil.which("uv"), "uv must be on PATH in the test environment"
    uv_home = tmp_path / "uv-home"
    venv = tmp_path / "venv-bootstrapped"
    env = {"PATH": _path_without("uv"), "VIRTUAL_ENV": ""}
    done = run(
        ["make", "install", f"VENV={venv}", f"UV_HOME={uv_home}"], cwd=default_project, env=env
    )
    assert "uv installed into" in done.stdout
    assert (uv_home / "bin" / "uv").is_file()
    assert freeze(venv) == installed_packages


def test_pip_installer_project_installs_the_same_pins_and_tests(
    installed_packages: set[str], tmp_path: Path
) -> None:
    """installer=pip: pip installs requirements.lock.txt, the versions uv installs from uv.lock."""
    created = scaffold("new", "-q", "pipproj", "--defaults", "-d", "installer=pip", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "pipproj"
    installed = run(["make", "install"], cwd=project)
    assert "--require-hashes" in installed.stdout
    with_pip, with_uv = freeze(project / ".venv"), installed_packages
    assert with_uv <= with_pip
    assert {line.split("==")[0] for line in with_pip - with_uv} <= VENV_SEEDS
    tested = run(["make", "test"], cwd=project)
    assert re.search(r"\d+ passed", tested.stdout)


def test_two_installs_from_one_lock_are_identical(
    default_project: Path, installed_packages: set[str], tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(default_project), str(clone)], cwd=tmp_path)
    run(["make", "install"], cwd=clone)
    assert freeze(clone / ".venv") == installed_packages


def test_a_dependency_added_without_make_lock_is_refused(
    default_project: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(default_project), str(clone)], cwd=tmp_path)
    pyproject = clone / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace('    "joblib>=1.4",\n', '    "joblib>=1.4",\n    "tabulate>=0.9",\n')
    )
    refused = run(["make", "install"], cwd=clone, check=False)
    assert refused.returncode != 0
    message = [line for line in refused.stderr.splitlines() if "uv.lock" in line]
    assert message == [
        "uv.lock is out of date with pyproject.toml: run `make lock` (then commit uv.lock)"
    ]
    assert not (clone / ".venv" / ".install.stamp").exists()
    run(["make", "lock"], cwd=clone)
    assert 'name = "tabulate"' in (clone / "uv.lock").read_text()
    run(["make", "install"], cwd=clone)
    assert any(name.startswith("tabulate==") for name in freeze(clone / ".venv"))


# What `python -m venv` seeds (setuptools up to Python 3.11) when the lock does not pin them.
VENV_SEEDS = {"pip", "setuptools"}


def test_plain_copier_copy_locks_on_its_first_install(tmp_path: Path) -> None:
    """Without scaffold there is no uv.lock yet: the first `make install` makes it first."""
    project = render(tmp_path / "plain")
    run(["git", "init", "--quiet"], cwd=project)
    installed = run(["make", "install"], cwd=project)
    assert "No uv.lock yet" in installed.stdout
    assert 'name = "mlflow"' in (project / "uv.lock").read_text()
    assert (project / ".venv" / ".install.stamp").is_file()
