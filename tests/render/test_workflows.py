"""The generated GitHub Actions workflows, judged by the real linters, for every combination.

Each combination with `ci` on is rendered once (a git repository: actionlint wants one); the
tools run on the whole directory, zizmor once per persona over every combination. A workflow
may only run Makefile targets that exist and that an e2e test executes, so what CI runs is what
the tests ran. Every job that uses a secret runs in a GitHub environment that docs/ci.md lists.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import (
    BIN,
    REPO_ROOT,
    checkov,
    enabled,
    makefile_text,
    option_matrix,
    render,
    run,
)

COMBOS = [combo for combo in option_matrix() if combo["ci"]]
# A registry other than GHCR: CD logs in with secrets and asks for no `packages` permission.
COMBOS.append({**COMBOS[0], "container_image": "registry.example.com/team/heart-risk"})
# The only action commits generated workflows may use (docs/reference/pinned-actions.md says
# where they come from and how to refresh them; a test below keeps that page in step).
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "astral-sh/setup-uv": ("20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1"),
    "docker/setup-buildx-action": ("37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    "docker/build-push-action": ("53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
    "docker/login-action": ("4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"),
    "docker/metadata-action": ("dc802804100637a589fabce1cb79ff13a1411302", "v6.2.0"),
    "Azure/setup-helm": ("9bc31f4ebc9c6b171d7bfbaa5d006ae7abdb4310", "v5.0.1"),
    "Azure/setup-kubectl": ("829323503d1be3d00ca8346e5391ca0b07a9ab0d", "v5.1.0"),
    "peter-evans/create-pull-request": ("5f6978faf089d4d20b00c7766989d076bb2fc7f1", "v8.1.1"),
    "iterative/setup-dvc": ("2508d098217d24eef3c0e8d7bc0ce7b9ca0723c3", "v1.1.2"),
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+?)@(\S+)(?:\s+#\s*(\S+))?\s*$")
MAKE_RUN = re.compile(r"^make(?: [a-z][a-z-]*)+$")
MAKE_TARGET = re.compile(r"^([a-z][a-z-]*):", re.MULTILINE)
ZIZMOR_PERSONAS = ["regular", "pedantic", "auditor"]
ZIZMOR_IGNORE = re.compile(r"#\s*zizmor:\s*ignore\[([\w, -]+)\](.*)$")
# A secret only a GitHub environment may hand out: any but the job's own GITHUB_TOKEN.
ENVIRONMENT_SECRET = re.compile(r"\bsecrets\.(?!GITHUB_TOKEN\b)\w+")
# A row of docs/ci.md's environments table: | `name` | `file.yml` `job`, `job` (when) | ...
ENVIRONMENT_ROW = re.compile(r"^\| `([\w-]+)` \| `([\w.-]+\.yml)` ([^(|]+)", re.MULTILINE)
PYTHONS = ["3.11", "3.12", "3.13"]
# cd.yml's canary flow (workflow_dispatch, with helm): job -> its environment.
CANARY_JOBS = {
    "canary-deploy": "canary",
    "canary-check": "canary",
    "canary-promote": "production-canary",
    "canary-abort": "canary",
}


def test_pinned_actions_page_lists_the_pins() -> None:
    """docs/reference/pinned-actions.md documents exactly the commits this module allows."""
    page = (REPO_ROOT / "docs" / "reference" / "pinned-actions.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([\w.-]+/[\w.-]+) \| (v[\w.]+) \| `([0-9a-f]{40})` \|", page, re.M)
    assert {action: (commit, tag) for action, tag, commit in rows} == PINNED
    assert len(rows) == len(PINNED)


def _id(combo: dict[str, Any]) -> str:
    switches = "".join(name[0] for name in ("serving", "docker", "helm") if enabled(combo, name))
    python, remote = combo["python_version"], combo["dvc_remote"]
    registry = combo.get("container_image", "ghcr.io").split("/")[0]
    return f"{combo['installer']}-py{python}-{remote}-{switches or 'none'}-{registry}"


class Renders:
    """Each combination rendered once per test process, when a test first needs it."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._done: dict[str, Path] = {}

    def __call__(self, combo: dict[str, Any]) -> Path:
        name = _id(combo)
        if name not in self._done:
            dest = render(self._root / name, **combo)
            run(["git", "init", "--quiet"], cwd=dest)
            self._done[name] = dest
        return self._done[name]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Renders:
    return Renders(tmp_path_factory.mktemp("workflows"))


@pytest.fixture(scope="module", params=COMBOS, ids=_id)
def project(request: pytest.FixtureRequest, renders: Renders) -> Path:
    return renders(request.param)


def _workflows(project: Path) -> list[Path]:
    found = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert found, "ci=true must render workflows"
    return found


def _load(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_expected_workflows(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    names = {path.name for path in _workflows(project)}
    expected = {"ci.yml", "retrain.yml", "template-update.yml"}
    assert names == expected | ({"cd.yml"} if enabled(answers, "docker") else set())


def test_actionlint_finds_nothing(project: Path) -> None:
    done = run([BIN / "actionlint", "-no-color"], cwd=project, check=False)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def _finding(finding: dict[str, Any]) -> str:
    """`rule combination/file.yml: jobs.name...` for one finding of zizmor's JSON report."""
    where = finding["locations"][0]["symbolic"]
    path = Path(where["key"]["Local"]["verbatim_path"])
    route = ".".join(str(*part.values()) for part in where["route"]["route"])
    return f"{finding['ident']} {path.parents[2].name}/{path.name}: {route}"


@pytest.mark.parametrize("persona", ZIZMOR_PERSONAS)
def test_zizmor_finds_nothing_at_any_persona(persona: str, renders: Renders) -> None:
    """One zizmor run per persona over every combination; what it would flag is fixed or
    explained in the workflow by an ignore comment that says why (test_zizmor_ignores_say_why)."""
    workflows = [renders(combo) / ".github" / "workflows" for combo in COMBOS]
    done = run(
        [
            *(BIN / "zizmor", "--offline", "--no-progress", "--format", "json"),
            *("--persona", persona, *workflows),
        ],
        cwd=workflows[0],
        check=False,
    )
    assert done.stdout.startswith("["), done.stderr[-4000:]
    findings = sorted(map(_finding, json.loads(done.stdout)))
    assert findings == [], "\n".join(findings)
    assert done.returncode == 0, done.stderr[-4000:]


def test_zizmor_ignores_say_why(project: Path) -> None:
    """An ignore comment names its rule and gives the reason in the same comment."""
    for path in _workflows(project):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if match := ZIZMOR_IGNORE.search(line):
                rules, reason = match.groups()
                assert rules.strip() and len(reason.split()) >= 4, f"{path.name}:{number}"


def test_jobs_with_secrets_run_in_the_documented_environments(project: Path) -> None:
    """A job that reads a secret runs in an environment; docs/ci.md lists each one's jobs."""
    in_environments: dict[str, set[tuple[str, str]]] = {}
    for path in _workflows(project):
        workflow = _load(path)
        for name, job in workflow["jobs"].items():
            environment = job.get("environment")
            if ENVIRONMENT_SECRET.search(json.dumps(job)):
                assert environment, f"{path.name}: job {name} reads secrets outside an environment"
            if environment:
                in_environments.setdefault(environment, set()).add((path.name, name))
        if "pull_request" in workflow[True]:
            assert "production" not in {job.get("environment") for job in workflow["jobs"].values()}
    page = (project / "docs" / "ci.md").read_text(encoding="utf-8")
    documented = {
        environment: {(workflow, job) for job in re.findall(r"`([\w-]+)`", jobs)}
        for environment, workflow, jobs in ENVIRONMENT_ROW.findall(page)
    }
    assert documented == in_environments
    if enabled(yaml.safe_load((project / ".copier-answers.yml").read_text()), "helm"):
        assert in_environments["production"] == {("cd.yml", "deploy")}


def test_valid_against_githubs_schemas(project: Path) -> None:
    workflows = [str(path) for path in _workflows(project)]
    check = BIN / "check-jsonschema"
    run([check, "--builtin-schema", "vendor.github-workflows", *workflows], cwd=project)
    run([check, "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"], cwd=project)


def test_checkov_fails_nothing(project: Path) -> None:
    report, output = checkov(project, "github_actions", cwd=project)
    summary = report["summary"]
    failed = [check["check_id"] for check in report["results"].get("failed_checks", [])]
    assert (summary["failed"], failed) == (0, []), output[-4000:]
    assert summary["passed"] > 0, "checkov must have looked at the workflows"


def test_actions_pinned_to_known_commits(project: Path) -> None:
    pins = []
    for path in _workflows(project):
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := USES.match(line):
                action, ref, comment = match.groups()
                pins.append((action, ref, comment))
    assert pins
    wrong = [pin for pin in pins if PINNED.get(pin[0]) != (pin[1], pin[2])]
    assert wrong == [], "uses: must be a commit from the pinned list, with its version comment"


def test_least_privilege_and_no_persisted_credentials(project: Path) -> None:
    for path in _workflows(project):
        workflow = _load(path)
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
            assert job["permissions"].get("contents") in {"read", "write"}
        for step in _steps(workflow):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, path.name


@cache
def _e2e_make_targets() -> frozenset[str]:
    """Targets e2e tests run: the literal strings after "make" in a ["make", ...] list."""
    targets: set[str] = set()
    for test_file in (REPO_ROOT / "tests" / "e2e").glob("*.py"):
        for node in ast.walk(ast.parse(test_file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.List) or not node.elts:
                continue
            head, *rest = node.elts
            if isinstance(head, ast.Constant) and head.value == "make":
                targets.update(
                    item.value
                    for item in rest
                    if isinstance(item, ast.Constant)
                    and isinstance(item.value, str)
                    and re.fullmatch(r"[a-z][a-z-]*", item.value)
                )
    return frozenset(targets)


def test_run_steps_are_tested_make_targets(project: Path) -> None:
    """Every `run:` calls make; each target exists here and an e2e test executes it."""
    defined = set(MAKE_TARGET.findall(makefile_text(project)))
    called: set[str] = set()
    for path in _workflows(project):
        for step in _steps(_load(path)):
            if "run" in step:
                command = step["run"].strip()
                assert MAKE_RUN.match(command), f"{path.name}: `{command}` is not a make target"
                called.update(command.split()[1:])
    assert called
    assert sorted(called - defined) == [], "targets missing from the generated Makefile"
    assert sorted(called - _e2e_make_targets()) == [], "targets no e2e test runs"


def test_test_matrix_covers_the_supported_pythons(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    test_job = _load(project / ".github" / "workflows" / "ci.yml")["jobs"]["test"]
    wanted = PYTHONS[PYTHONS.index(answers["python_version"]) :]
    assert test_job["strategy"]["matrix"]["python-version"] == wanted


def test_jobs_follow_the_feature_switches(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    ci_jobs = set(_load(project / ".github" / "workflows" / "ci.yml")["jobs"])
    expected = {"lint", "test", "pipeline"}
    expected |= {"docker"} if enabled(answers, "docker") else set()
    expected |= {"helm"} if enabled(answers, "helm") else set()
    assert ci_jobs == expected
    if enabled(answers, "docker"):
        cd_jobs = set(_load(project / ".github" / "workflows" / "cd.yml")["jobs"])
        expected_cd = {"image"}
        if enabled(answers, "helm"):
            expected_cd |= {"chart", "deploy", *CANARY_JOBS}
        assert cd_jobs == expected_cd
    dependabot = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in dependabot["updates"]}
    assert ecosystems == {"github-actions", "uv"} | (
        {"docker"} if enabled(answers, "docker") else set()
    )


def test_cd_pushes_the_lean_and_the_training_image(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    if not enabled(answers, "docker"):
        return
    cd = _load(project / ".github" / "workflows" / "cd.yml")
    job = cd["jobs"]["image"]
    steps = {step.get("id"): step for step in job["steps"]}
    image = answers["container_image"]
    assert steps["meta"]["with"]["images"] == image
    assert steps["meta-train"]["with"]["images"] == f"{image}-train"
    assert steps["meta"]["with"]["tags"] == steps["meta-train"]["with"]["tags"]
    for step, target, meta in (("build", "serve", "meta"), ("build-train", "train", "meta-train")):
        options = steps[step]["with"]
        assert (options["target"], options["push"]) == (target, True)
        assert options["tags"] == f"${{{{ steps.{meta}.outputs.tags }}}}"
    assert job["outputs"]["train-digest"] == "${{ steps.build-train.outputs.digest }}"
    if enabled(answers, "helm"):
        deploy_env = cd["jobs"]["deploy"]["steps"][-1]["env"]
        assert deploy_env["TRAIN_IMAGE_DIGEST"] == "${{ needs.image.outputs.train-digest }}"
        planned = run(
            ["make", "-n", "deploy", "IMAGE_DIGEST=sha256:a", "TRAIN_IMAGE_DIGEST=sha256:b"],
            cwd=project,
        ).stdout
        assert "--set image.digest=sha256:a" in planned
        assert "--set trainImage.digest=sha256:b" in planned


def test_cd_canary_flow_by_hand(project: Path) -> None:
    """Run by hand, cd.yml builds nothing and runs the canary flow: deploy, then make
    canary-wait, whose verdict (not make's status) picks promote (0, in an environment that
    can require a reviewer) or abort (3); tag pushes run only the release jobs."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    if not enabled(answers, "helm"):
        return
    cd = _load(project / ".github" / "workflows" / "cd.yml")
    assert set(cd[True]) == {"push", "workflow_dispatch"}
    inputs = cd[True]["workflow_dispatch"]["inputs"]
    assert inputs["canary"]["options"] == ["deploy", "check", "abort"]
    jobs = cd["jobs"]
    assert jobs["image"]["if"] == "github.event_name == 'push'"
    assert {name: jobs[name]["environment"] for name in CANARY_JOBS} == CANARY_JOBS
    runs = {
        name: [step["run"] for step in jobs[name]["steps"] if "run" in step] for name in CANARY_JOBS
    }
    assert runs == {
        "canary-deploy": ["make canary-deploy"],
        "canary-check": ["make canary-wait"],
        "canary-promote": ["make canary-promote"],
        "canary-abort": ["make canary-abort"],
    }
    check = jobs["canary-check"]
    assert check["needs"] == "canary-deploy"
    assert check["outputs"]["status"] == "${{ steps.check.outputs.status }}"
    assert "needs.canary-deploy.result == 'success'" in check["if"]
    assert jobs["canary-promote"]["if"] == "needs.canary-check.outputs.status == '0'"
    assert "needs.canary-check.outputs.status == '3'" in jobs["canary-abort"]["if"]
    # The verdict file travels to the promotion, which records its line with the alias move.
    (upload,) = [s for s in check["steps"] if "upload-artifact" in s.get("uses", "")]
    (download,) = [
        s for s in jobs["canary-promote"]["steps"] if "download-artifact" in s.get("uses", "")
    ]
    assert upload["with"]["path"] == "reports/canary/check.json"
    assert (download["with"]["name"], download["with"]["path"]) == (
        "canary-check",
        "reports/canary",
    )
    promote_env = jobs["canary-promote"]["steps"][-1]["env"]
    assert promote_env["CANARY_MODEL"] == "${{ inputs.canary_model }}"
    assert "MLFLOW_TRACKING_URI" in promote_env
    planned = run(["make", "-n", "canary-wait"], cwd=project).stdout
    assert 'echo "status=$status" >> "$GITHUB_OUTPUT"' in planned
