"""The scaffolder's own repository: CI wiring, workflow linters, generated docs, lazy start-up."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support import BIN, REPO_ROOT, checkov, load_structured, run

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def test_ci_runs_the_readme_test_command() -> None:
    """The workflow calls .ci/run, .ci/run calls `make check`, and the README names it."""
    (workflow,) = load_structured(WORKFLOWS / "ci.yml")
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in steps
    assert re.search(r"^exec make check$", (REPO_ROOT / ".ci/run").read_text(), re.MULTILINE)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^make check\b", readme, re.MULTILINE)


@pytest.mark.parametrize(
    "command",
    [
        ["actionlint"],
        ["zizmor", "--offline", "--min-severity", "low", ".github/workflows"],
        [
            "check-jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            ".github/workflows/ci.yml",
        ],
        ["check-jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"],
    ],
    ids=["actionlint", "zizmor", "schema", "dependabot-schema"],
)
def test_own_workflow_passes(command: list[str]) -> None:
    """The real workflow linters accept the scaffolder's CI workflow."""
    run([BIN / command[0], *command[1:]], cwd=REPO_ROOT)


def test_own_workflow_passes_checkov() -> None:
    """checkov's GitHub Actions policies: nothing failed, and it did look at the workflow."""
    report, output = checkov(REPO_ROOT / ".github", "github_actions", cwd=REPO_ROOT)
    assert report["summary"]["failed"] == 0, output[-4000:]
    assert report["summary"]["passed"] > 0


def test_docs_job_builds_the_docs_strictly() -> None:
    """A CI job runs `make docs`, and that target is a strict mkdocs build."""
    (workflow,) = load_structured(WORKFLOWS / "ci.yml")
    runs = [step.get("run", "") for step in workflow["jobs"]["docs"]["steps"]]
    assert "make docs" in runs
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^docs:.*\n\t\$\(BIN\)/mkdocs build --strict", makefile, re.MULTILINE)


def test_options_reference_is_current() -> None:
    """docs/reference/options.md is regenerated whenever copier.yml changes."""
    run([sys.executable, "docs/gen_options.py", "--check"], cwd=REPO_ROOT)


def test_help_does_not_import_copier() -> None:
    """`scaffold --help` stays fast: copier and jinja2 load only when a command needs them."""
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from scaffold.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'copier', 'jinja2', 'pydantic'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
