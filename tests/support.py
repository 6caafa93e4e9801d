"""Shared helpers for the tests: render the template, walk and run generated projects."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from itertools import cycle, product
from pathlib import Path
from typing import Any

import copier
import yaml
from dockerfile_parse import DockerfileParser

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_PACKAGE = "heart_disease_risk"
# The last release of this repository and its commit: a clone may come without tags
# (CI's does), so tests that start from the release tag it with `tag_last_release`.
# `make release` adds a tag; move these with it (docs/design/versions.md).
LAST_RELEASE = ("v0.1.0", "c1564adaafa9e6178501b6ae4fdbaba105729032")

# Options whose combinations change the output together, and options that vary alone.
INTERACTING: dict[str, list[str]] = {
    "installer": ["uv", "pip"],
    "python_version": ["3.11", "3.12", "3.13"],
}
CYCLED: dict[str, list[str]] = {
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"],
    "dvc_remote": ["local", "s3", "gcs", "azure", "ssh"],
    # A package named after "tests" and "tools" too: import order must not depend on it.
    "project_name": ["Heart Disease Risk", "Zulu Clinic", "Apex"],
}
# The feature switches depend on each other (helm needs docker needs serving): every valid
# combination, with and without the workflows, cycled through the matrix as one unit. Airflow
# needs none of them: it comes with the first two and the last two, so with both installers in
# test_checks (uv, pip alternate) and with and without the validators' groups.
FEATURE_SETS: list[dict[str, bool]] = [
    {"serving": serving, "docker": docker, "helm": helm, "ci": ci, "airflow": airflow}
    for ci, cases in (
        (True, ((True, True, True, True), (True, True, False, True))),
        (True, ((True, False, False, False), (False, False, False, False))),
        (False, ((True, True, True, False), (True, True, False, False))),
        (False, ((True, False, False, True), (False, False, False, True))),
    )
    for serving, docker, helm, airflow in cases
]
# Switches that are off unless answered (the others default to on).
OFF_BY_DEFAULT = frozenset({"airflow"})


def option_matrix() -> list[dict[str, Any]]:
    """The product of the interacting options, with the independent ones cycled through."""
    combos = [
        dict(zip(INTERACTING, values, strict=True)) for values in product(*INTERACTING.values())
    ]
    cyclers = {name: cycle(values) for name, values in CYCLED.items()}
    features = cycle(FEATURE_SETS)
    return [
        {**combo, **{name: next(it) for name, it in cyclers.items()}, **next(features)}
        for combo in combos
    ]


def enabled(answers: Mapping[str, Any], feature: str) -> bool:
    """Whether a feature switch is on for these answers (their defaults if not answered)."""
    chain = {"serving": ("serving",), "docker": ("serving", "docker")}
    chain["helm"] = (*chain["docker"], "helm")
    return all(
        answers.get(name, name not in OFF_BY_DEFAULT) for name in chain.get(feature, (feature,))
    )


def render(dest: Path, **data: Any) -> Path:
    """Render this checkout's template (working tree included) with copier itself."""
    copier.run_copy(
        str(REPO_ROOT), dest, data=data, defaults=True, vcs_ref="HEAD", quiet=True, unsafe=False
    )
    return dest


def makefile_text(project: Path) -> str:
    """The generated Makefile and the feature files it includes (make/*.mk), as one text."""
    parts = [project / "Makefile", *sorted((project / "make").glob("*.mk"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in parts)


def files_under(root: Path) -> set[str]:
    """Every file below `root` as a POSIX relative path, ignoring `.git/`."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


PACKAGE_MODULES = (
    "__init__.py",
    "cli.py",
    "errors.py",
    "files.py",
    "params.py",
    "settings.py",
    "py.typed",
    "termination.py",
    "tracking.py",
    "core/__init__.py",
    "core/checks.py",
    "core/contract.py",
    "core/data_dictionary.py",
    "core/decision.py",
    "core/frames.py",
    "core/infer_contract.py",
    "core/messages.py",
    "pipeline/promotion.py",
    "core/schema.py",
    "core/tasks/__init__.py",
    "core/tasks/base.py",
    "core/tasks/binary.py",
    "core/tasks/multiclass.py",
    "core/tasks/regression.py",
    "pipeline/__init__.py",
    "pipeline/aliases.py",
    "pipeline/repro.py",
    "pipeline/evaluate.py",
    "pipeline/predict.py",
    "pipeline/prepare.py",
    "pipeline/train.py",
    "pipeline/validate.py",
    "pipeline/verify.py",
    "monitoring/__init__.py",
    "monitoring/append.py",
    "monitoring/canary.py",
    "monitoring/columns.py",
    "monitoring/comparison.py",
    "monitoring/drift.py",
    "monitoring/experiment.py",
    "monitoring/experiment_page.py",
    "monitoring/feedback.py",
    "monitoring/labels.py",
    "monitoring/monitor.py",
    "monitoring/performance.py",
    "monitoring/predlog.py",
    "monitoring/quality.py",
    "monitoring/report.py",
    "monitoring/templates/experiment.html.j2",
    "monitoring/templates/report.html.j2",
)
TEST_MODULES = (
    "conftest.py",
    "preload.py",
    "synthetic.py",
    "test_params.py",
    "test_settings.py",
    "test_termination.py",
    "test_tracking.py",
    "test_version.py",
    "core/test_contract.py",
    "core/test_data_dictionary.py",
    "core/test_infer_contract.py",
    "core/test_messages.py",
    "pipeline/test_aliases.py",
    "pipeline/test_promotion.py",
    "core/test_tasks.py",
    "pipeline/test_pipeline.py",
    "pipeline/test_dvc_deps.py",
    "pipeline/test_prepare.py",
    "pipeline/test_repro.py",
    "pipeline/test_train.py",
    "pipeline/test_validate.py",
    "pipeline/test_verify.py",
    "monitoring/conftest.py",
    "monitoring/records.py",
    "monitoring/test_any_contract.py",
    "monitoring/test_append.py",
    "monitoring/test_canary.py",
    "monitoring/test_comparison.py",
    "monitoring/test_drift.py",
    "monitoring/test_experiment.py",
    "monitoring/test_feedback.py",
    "monitoring/test_monitor.py",
    "monitoring/test_other_tasks.py",
    "monitoring/test_predlog.py",
    "monitoring/test_task_monitor.py",
    "tools/test_run_checks.py",
)
# `scaffold new` adds these with `dvc add` (plain copier does not): the raw data leaves git.
DVC_TRACKING_FILES = {"data/raw/.gitignore", "data/raw/heart.csv.dvc"}


# Files each feature switch adds (paths relative to the project; {pkg} and {slug} filled in).
SERVING_FILES: tuple[str, ...] = (
    "docs/serving.md",
    "make/serve.mk",
    *(
        f"src/{{pkg}}/serve/{name}"
        for name in (
            "__init__.py",
            "__main__.py",
            "answers.py",
            "app.py",
            "batching.py",
            "challenger.py",
            "environment.py",
            "export.py",
            "fastlane.py",
            "fastpath.py",
            "limits.py",
            "model.py",
            "onnx_export.py",
            "onnx_missing.py",
            "onnx_model.py",
            "payloads.py",
            "prediction_log.py",
            "predictor.py",
            "registration.py",
            "rows.py",
            "telemetry.py",
        )
    ),
    *(
        f"tests/serve/{name}"
        for name in (
            "conftest.py",
            "expected.py",
            "test_api.py",
            "test_batching.py",
            "test_challenger.py",
            "test_fastpath.py",
            "test_lean_imports.py",
            "test_listeners.py",
            "test_main.py",
            "test_model.py",
            "test_onnx.py",
            "test_other_contracts.py",
            "test_prediction_log.py",
            "test_registration.py",
            "test_tasks.py",
        )
    ),
)
DOCKER_FILES: tuple[str, ...] = (
    ".dockerignore",
    "Dockerfile",
    "docs/container.md",
    "make/container.mk",
)
HELM_FILES: tuple[str, ...] = (
    "docs/kubernetes.md",
    "make/chart.mk",
    *(
        f"charts/{{slug}}/{name}"
        for name in (
            ".helmignore",
            "Chart.yaml",
            "ci/all-on-values.yaml",
            "ci/canary-route-values.yaml",
            "ci/canary-values.yaml",
            "files/dashboard.json",
            "tests/alerts_baseline_test.yaml",
            "tests/alerts_test.yaml",
            "values.schema.json",
            "values.yaml",
            "templates/NOTES.txt",
            "templates/canary.yaml",
            "templates/_alerts.tpl",
            "templates/_deployment.tpl",
            "templates/_helpers.tpl",
            "templates/configmap.yaml",
            "templates/cronjob.yaml",
            "templates/dashboard.yaml",
            "templates/deployment.yaml",
            "templates/hpa.yaml",
            "templates/ingress.yaml",
            "templates/networkpolicy.yaml",
            "templates/pdb.yaml",
            "templates/prometheusrule.yaml",
            "templates/service.yaml",
            "templates/serviceaccount.yaml",
            "templates/servicemonitor.yaml",
            "templates/tests/test-connection.yaml",
        )
    ),
    "tools/validate_chart.py",
)
CI_FILES: tuple[str, ...] = (
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/retrain.yml",
    ".github/workflows/template-update.yml",
    "docs/ci.md",
    "make/ci.mk",
)
AIRFLOW_FILES: tuple[str, ...] = (
    "dags/{pkg}_pipeline.py",
    "docs/airflow.md",
    "make/airflow.mk",
    "tests/airflow/test_dag.py",
)
# Files that need two switches at once: CD builds an image, so it needs ci and docker.
CI_DOCKER_FILES: tuple[str, ...] = (".github/workflows/cd.yml",)


def feature_files(answers: Mapping[str, Any]) -> set[str]:
    """The files the enabled feature switches add."""
    pkg = answers.get("package_name", DEFAULT_PACKAGE)
    slug = answers.get("project_slug", DEFAULT_PACKAGE.replace("_", "-"))
    groups = {
        ("serving",): SERVING_FILES,
        ("docker",): DOCKER_FILES,
        ("helm",): HELM_FILES,
        ("ci",): CI_FILES,
        ("airflow",): AIRFLOW_FILES,
        ("ci", "docker"): CI_DOCKER_FILES,
    }
    return {
        name.format(pkg=pkg, slug=slug)
        for features, names in groups.items()
        if all(enabled(answers, feature) for feature in features)
        for name in names
    }


def expected_files(answers: Mapping[str, Any]) -> set[str]:
    """The exact set of files copier renders for these answers."""
    pkg = answers.get("package_name", DEFAULT_PACKAGE)
    starter = {"data/contract.yaml", "data/raw/heart.csv", "docs/data.md"}
    return (
        (starter if not answers.get("dataset") else set())
        | feature_files(answers)
        | {
            ".copier-answers.yml",
            ".dvc/.gitignore",
            ".dvc/config",
            ".dvcignore",
            ".gitignore",
            ".pre-commit-config.yaml",
            "LICENSE",
            "Makefile",
            "README.md",
            "data/README.md",
            "docs/experiments.md",
            "docs/features.md",
            "docs/monitoring.md",
            "dvc.yaml",
            "make/pipeline.mk",
            "make/update.mk",
            "params.yaml",
            "pyproject.toml",
            "tools/__init__.py",
            "tools/run_checks.py",
            *(f"src/{pkg}/{name}" for name in PACKAGE_MODULES),
            *(f"tests/{name}" for name in TEST_MODULES),
        }
    )


def git_files(repo: Path) -> set[str]:
    """The files git tracks in `repo`."""
    listing = run(["git", "ls-files", "-z"], cwd=repo).stdout
    return {name for name in listing.split("\0") if name}


# Set when the tests run under `make check`: they would leak into generated projects' make.
OUTER_MAKE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def run(
    command: Sequence[str | Path],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure show its output in the assertion message."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**{k: v for k, v in os.environ.items() if k not in OUTER_MAKE}, **(env or {})},
        stdin=subprocess.DEVNULL,  # never pytest's terminal: a command must not wait for input
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {done.returncode} in {cwd}\n"
            f"--- stdout ---\n{done.stdout[-6000:]}\n--- stderr ---\n{done.stderr[-6000:]}"
        )
    return done


def freeze(venv: Path) -> set[str]:
    """`name==version` of every package in the venv but the project itself (its path varies)."""
    listed = run(["uv", "pip", "freeze", "--python", str(venv / "bin" / "python")], cwd=venv)
    return {
        line
        for line in listed.stdout.splitlines()
        if line and not line.startswith("-e ") and " @ " not in line
    }


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_group(process: subprocess.Popen[Any], within: float = 30.0) -> bool:
    """SIGTERM to the process's group; SIGKILL after `within` s. Whether it stopped in time."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return False
    return True


def checkov(
    target: Path, framework: str, cwd: Path, *, quiet: bool = True
) -> tuple[dict[str, Any], str]:
    """checkov's JSON report on a directory or file, offline, and its raw output.

    `quiet` leaves the passed and skipped checks out of the report (the summary counts them).
    """
    flag = "-d" if target.is_dir() else "-f"
    done = run(
        [
            *(BIN / "checkov", flag, target, "--framework", framework),
            *("--skip-download", "--compact", "--output", "json"),
            *(("--quiet",) if quiet else ()),
        ],
        cwd=cwd,
        check=False,
        timeout=600,
    )
    return json.loads(done.stdout), done.stdout


def scaffold(
    *args: str | Path, cwd: Path, check: bool = False, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `scaffold` command of this test environment."""
    return run([BIN / "scaffold", *args], cwd=cwd, env=env, check=check, timeout=300)


def copy_template_repo(dest: Path, *, whole_project: bool = False) -> Path:
    """A fresh git repository holding this checkout's template (or every project file).

    Copies the working tree, so uncommitted template changes are tested too.
    """
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    wanted = [
        name
        for name in listing
        if name
        and (REPO_ROOT / name).is_file()
        and (whole_project or name == "copier.yml" or name.startswith(("includes/", "template/")))
    ]
    for name in wanted:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    run(["git", "init", "--quiet", "--initial-branch=main"], cwd=dest)
    commit_all(dest, "template snapshot")
    return dest


def answered(project: Path, name: str) -> str:
    """One answer recorded in a generated project's .copier-answers.yml."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return str(answers[name])


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    """Stage everything in `repo`, commit, and optionally tag."""
    run(["git", "add", "--all"], cwd=repo)
    run(["git", "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message], cwd=repo)
    if tag:
        run(["git", "tag", tag], cwd=repo)


def tag_last_release(repo: Path) -> str:
    """Tag LAST_RELEASE in a clone of this repository unless it is there; return the tag."""
    tag, commit = LAST_RELEASE
    if run(["git", "tag", "--list", tag], cwd=repo).stdout.strip():
        return tag
    present = run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo, check=False)
    assert present.returncode == 0, f"{tag}'s commit {commit[:9]} is not in this clone's history"
    run(["git", "tag", "--annotate", tag, commit, "-m", f"mlops-scaffold {tag[1:]}"], cwd=repo)
    return tag


def walk_text_files(root: Path) -> Iterator[Path]:
    """Text files of a generated project (skips `.git/`)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            yield path


def load_structured(path: Path) -> Any:
    """Parse a TOML, YAML or JSON file by its suffix."""
    import json
    import tomllib

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return tomllib.loads(text)
    if path.suffix in {".yml", ".yaml"}:
        return list(yaml.safe_load_all(text))
    return json.loads(text)


_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.IGNORECASE)


def windows_problem(relative: str) -> str | None:
    """Why a relative path cannot exist on Windows, or None if it can."""
    for part in relative.split("/"):
        if re.search(r'[<>:"|?*\\]', part) or any(ord(char) < 32 for char in part):
            return f"'{part}' has a character Windows forbids"
        if part.endswith((" ", ".")):
            return f"'{part}' ends with a dot or space"
        if _WINDOWS_RESERVED.match(part):
            return f"'{part}' is a reserved device name"
    return None


def dockerfile_stages(path: Path) -> dict[str, list[dict[str, Any]]]:
    """A multi-stage Dockerfile's instructions by stage name (dockerfile-parse's structure).

    A stage built `FROM` another stage starts with that stage's instructions, as Docker
    inherits its ENV, USER, CMD and HEALTHCHECK; dockerfile-parse alone resets them at FROM.
    """
    stages: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] = []
    for item in DockerfileParser(path=str(path)).structure:
        if item["instruction"] == "FROM":
            image, _, name = item["value"].partition(" AS ")
            current = [*stages.get(image.strip(), []), item]
            stages[name.strip() or image.strip()] = current
        else:
            current.append(item)
    return stages


def stage_config(path: Path, stage: str) -> tuple[dict[str, str], list[str], list[str]]:
    """A stage's ENV, CMD and HEALTHCHECK command (exec forms), inherited stages included."""
    env: dict[str, str] = {}
    cmd: list[str] = []
    check: list[str] = []
    for item in dockerfile_stages(path)[stage]:
        if item["instruction"] == "ENV":
            env.update(_env_pairs(item["value"]))
        elif item["instruction"] == "CMD":
            cmd = json.loads(item["value"])
        elif item["instruction"] == "HEALTHCHECK":
            check = json.loads(item["value"].split(" CMD ", 1)[1])
    return env, cmd, check


def _env_pairs(value: str) -> dict[str, str]:
    """KEY=value pairs of one ENV instruction (quotes removed; $VAR left as written)."""
    lexer = shlex.shlex(value, posix=True)
    lexer.whitespace_split = True
    return dict(pair.split("=", 1) for pair in lexer)


# The alerts of the chart's PrometheusRule (templates/_alerts.tpl).
ALERTS = {
    "PredictErrorRatioHigh",
    "PredictLatencyP99High",
    "ModelNotLoaded",
    "PredictionLogDropping",
    "PredictionLogFailing",
    "PredictedPositiveRateShift",
}
