"""Render tier: the Dockerfile and its build context, checked with the real tools.

hadolint and checkov lint the Dockerfile of every rendered combination (every minimum Python
version included), dockerfile-parse reads it the way Docker does, the Docker SDK's own
.dockerignore matcher computes the build context, and GNU make shows what the targets run.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser

from tests.support import (
    BIN,
    INTERACTING,
    checkov,
    dockerfile_stages,
    enabled,
    option_matrix,
    render,
    run,
    stage_config,
)

MATRIX = option_matrix()
TRICKY = {
    "project_name": "Churn Radar",
    "description": 'Flags "churn" early; costs $HOME nothing, keeps a back\\slash',
    "author_name": 'Ana "Q" Ops',
    "license": "proprietary",
}
_MATRIX_DOCKER = [combo for combo in MATRIX if enabled(combo, "docker")]
DOCKER_PROJECTS = [  # every Dockerfile in the matrix, then each missing minimum Python
    *_MATRIX_DOCKER,
    *(
        {"python_version": version}
        for version in INTERACTING["python_version"]
        if version not in {combo["python_version"] for combo in _MATRIX_DOCKER}
    ),
    TRICKY,
]
UID = "10001"


def _id(answers: dict[str, Any]) -> str:
    python, installer = answers.get("python_version", "3.11"), answers.get("installer", "uv")
    features = "".join(name[0] for name in ("serving", "docker", "helm", "ci") if answers.get(name))
    return f"{answers.get('project_name', 'default')[:5]}-py{python}-{installer}-{features}"


@pytest.fixture(scope="module", params=DOCKER_PROJECTS, ids=_id)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("container"), **request.param)


def _answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def _runtime_stage(project: Path) -> DockerfileParser:
    """The `runtime` stage (what `serve` and `train` inherit) as a Dockerfile of its own."""
    lines = (project / "Dockerfile").read_text(encoding="utf-8").splitlines(keepends=True)
    stage = dockerfile_stages(project / "Dockerfile")["runtime"]
    text = "".join(lines[stage[0]["startline"] : stage[-1]["endline"] + 1])
    return DockerfileParser(fileobj=io.BytesIO(text.encode()))


def _instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [item["value"] for item in parser.structure if item["instruction"] == name]


# ── The real linters ────────────────────────────────────────────────────────────────────────


def test_hadolint_reports_nothing(project: Path) -> None:
    done = run([BIN / "hadolint", "--no-color", "Dockerfile"], cwd=project, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert "hadolint ignore" not in (project / "Dockerfile").read_text(encoding="utf-8")


def test_checkov_fails_nothing(project: Path) -> None:
    report, output = checkov(project / "Dockerfile", "dockerfile", cwd=project)
    summary = report["summary"]
    assert (summary["failed"], summary["skipped"], summary["parsing_errors"]) == (0, 0, 0), output
    assert summary["passed"] > 50, "checkov must have looked at the Dockerfile"


# ── The serving contract ────────────────────────────────────────────────────────────────────


STAGES = ["uv", "train-builder", "model", "serve-builder", "runtime", "train", "serve"]
# The service builds its request body from the data contract, below its root (/app).
CONTRACT_COPY = "data/contract.yaml data/contract.yaml"


def test_stages_on_the_minimum_python_and_serve_last(project: Path) -> None:
    """`serve` is the last stage: a plain `docker build .` gives the lean image."""
    parser = DockerfileParser(path=str(project / "Dockerfile"))
    base = f"python:{_answers(project)['python_version']}-slim-bookworm"
    assert _instructions(parser, "FROM") == [
        f"{base} AS uv",
        "uv AS train-builder",
        f"{base} AS model",
        "uv AS serve-builder",
        f"{base} AS runtime",
        "runtime AS train",
        "runtime AS serve",
    ]
    assert list(dockerfile_stages(project / "Dockerfile")) == STAGES


@pytest.mark.parametrize("target", ["serve", "train"])
def test_runtime_stages_follow_the_serving_contract(project: Path, target: str) -> None:
    dockerfile = project / "Dockerfile"
    package = _answers(project)["package_name"]
    envs, cmd, check = stage_config(dockerfile, target)
    assert cmd == ["python", "-m", f"{package}.serve"]
    assert {name: envs[name] for name in ("SERVE_HOST", "SERVE_PORT", "MODEL_DIR")} == {
        "SERVE_HOST": "0.0.0.0",
        "SERVE_PORT": "8080",
        "MODEL_DIR": "/app/model",
    }
    assert envs["PYTHONDONTWRITEBYTECODE"] == envs["PYTHONUNBUFFERED"] == "1"
    stage = dockerfile_stages(dockerfile)[target]
    final = {item["instruction"]: item["value"] for item in stage}
    assert final["WORKDIR"] == "/app"
    assert final["EXPOSE"] == "8080"
    assert final["USER"] == f"{UID}:{UID}"
    assert f"--uid {UID}" in final["RUN"]
    assert [item["value"] for item in stage if item["instruction"] == "RUN"] == [final["RUN"]]
    copies = [item["value"] for item in stage if item["instruction"] == "COPY"]
    assert (
        copies
        == {
            "serve": [
                CONTRACT_COPY,
                "--from=serve-builder /opt/venv /opt/venv",
                "--from=model /model/ /app/model/",
            ],
            "train": [
                CONTRACT_COPY,
                "--from=train-builder /opt/venv /opt/venv",
                "models/serving/ /app/model/",
            ],
        }[target]
    )
    assert check[:2] == ["python", "-c"]
    assert "/health" in check[2]
    assert "--interval=" in final["HEALTHCHECK"]
    assert "--timeout=" in final["HEALTHCHECK"]
    assert "curl" not in final["HEALTHCHECK"]


def _steps(project: Path, stage: str) -> list[tuple[str, str]]:
    return [
        (item["instruction"], item["value"])
        for item in dockerfile_stages(project / "Dockerfile")[stage]
        if item["instruction"] in {"COPY", "RUN"}
    ]


@pytest.mark.parametrize("builder", ["train-builder", "serve-builder"])
def test_dependencies_install_from_the_lock_before_the_source_is_copied(
    project: Path, builder: str
) -> None:
    """Editing code must not invalidate the (slow) dependency layer; both installs use uv.lock."""
    steps = _steps(project, builder)
    copies = [value for kind, value in steps if kind == "COPY"]
    assert copies[0] == "pyproject.toml uv.lock ./"
    source = steps.index(("COPY", "src/ src/"))
    installs = [i for i, (_, value) in enumerate(steps) if "/opt/uv/bin/uv " in value]
    assert len(installs) == 2
    assert installs[0] < source < installs[1]
    first, second = steps[installs[0]][1], steps[installs[1]][1]
    assert "uv sync --locked" in first
    assert "--no-install-project" in first
    if builder == "train-builder":  # every runtime dependency, then the package from the lock
        assert "--no-dev" in first
        assert "uv sync --locked --no-dev --no-editable" in second
    else:  # the `serve` group only, then the package without its (training) dependencies
        assert "--no-default-groups --only-group serve" in first
        assert "uv pip install --python /opt/venv/bin/python --no-deps ." in second
    assert not any("pip install" in value and "uv" not in value for _, value in steps)
    assert ("COPY", "models/serving/ /model/") not in steps, "a new model keeps the deps cached"


def test_serve_needs_the_onnx_export_and_says_how_to_do_without(project: Path) -> None:
    """The `model` stage stops the build, in one line, when model.onnx is missing."""
    steps = _steps(project, "model")
    assert steps[-2:][0] == ("COPY", "models/serving/ /model/")
    check = steps[-1][1]
    assert check.startswith("test -f /model/model.onnx || { echo ")
    assert check.endswith(" >&2; exit 1; }")
    assert "make docker-build-train" in check
    assert "\n" not in check


def test_bytecode_compiled_at_build_time(project: Path) -> None:
    """The root filesystem is read-only at run time: uv compiles every install."""
    envs, _, _ = stage_config(project / "Dockerfile", "serve-builder")
    assert envs["UV_COMPILE_BYTECODE"] == "1"
    assert envs["UV_PROJECT_ENVIRONMENT"] == "/opt/venv"


def test_index_steps_take_the_optional_ca_secret_and_nothing_of_the_host(project: Path) -> None:
    """Every step that downloads mounts the optional secret `ca`, used only when it is given."""
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    runs = _instructions(DockerfileParser(path=str(project / "Dockerfile")), "RUN")
    downloads = [value for value in runs if "pip install" in value or "uv sync" in value]
    assert len(downloads) == 5  # uv; the train builder's two installs; the serve builder's two
    for value in downloads:
        assert value.startswith("--mount=type=secret,id=ca ")
        assert "if [ -s /run/secrets/ca ]; then export " in value
    assert "/etc/ssl" not in text and "required=true" not in text


def _quoted(value: str) -> str:
    """`value` in Dockerfile double quotes: Docker unescapes \\\\, \\" and \\$ there."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def test_labels_carry_the_answers_verbatim(project: Path) -> None:
    answers = _answers(project)
    labels = _runtime_stage(project).labels
    prefix = "org.opencontainers.image."
    assert labels[f"{prefix}title"] == answers["project_slug"]
    licence = (
        "LicenseRef-Proprietary" if answers["license"] == "proprietary" else answers["license"]
    )
    assert labels[f"{prefix}licenses"] == licence
    # dockerfile-parse leaves \\ and \$ escaped where Docker undoes them: compare the source.
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    assert f"{prefix}description={_quoted(answers['description'])} " in text
    author = f"{answers['author_name']} <{answers['author_email']}>"
    assert f"{prefix}authors={_quoted(author)} " in text


# ── The build context (.dockerignore) ───────────────────────────────────────────────────────

LOCAL_CLUTTER = (
    ".git/config",
    ".venv/bin/python",
    ".env",
    ".env.production",
    "deploy/cluster.pem",
    "kubeconfig",
    ".dvc/cache/files/md5/ab/cdef",
    ".dvc/config.local",
    ".dvc/tmp/lock",
    "data/processed/train.csv",
    "mlflow.db",
    "mlruns/0/meta.yaml",
    "mlartifacts/1/model.pkl",
    "models/model.joblib",
    "models/run.json",
    "reports/metrics.json",
    "dvc_plots/index.html",
    ".pytest_cache/v/cache",
    ".coverage",
    "src/{pkg}/__pycache__/paths.cpython-311.pyc",
    "build/lib/x.py",
    "dist/x.whl",
)
MODEL_FILES = ("models/serving/MLmodel", "models/serving/model.skops")


def test_build_context_holds_the_sources_and_the_model_only(project: Path) -> None:
    package = _answers(project)["package_name"]
    for name in (*LOCAL_CLUTTER, *MODEL_FILES):
        path = project / name.format(pkg=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    patterns = [
        line.strip()
        for line in (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    context = {path for path in exclude_paths(str(project), patterns) if (project / path).is_file()}
    leaked = sorted(context & {name.format(pkg=package) for name in LOCAL_CLUTTER})
    assert leaked == []
    assert set(MODEL_FILES) <= context
    assert {"Dockerfile", "pyproject.toml", "README.md", "LICENSE"} <= context
    assert f"src/{package}/serve/__main__.py" in context
    assert {path for path in context if path.startswith("data/")} == {"data/contract.yaml"}
    assert not any(path.startswith(("tests/", "charts/", ".github/")) for path in context)


# ── The make targets ────────────────────────────────────────────────────────────────────────


def test_docker_targets_export_the_model_then_build(project: Path) -> None:
    image = _answers(project)["container_image"]
    exported = run(["make", "-n", "export-model"], cwd=project).stdout
    planned = run(["make", "-n", "docker-build"], cwd=project).stdout
    assert planned.startswith(exported), "the image bakes in the exported champion"
    engine = "docker" if shutil.which("docker") else "podman"
    assert planned[len(exported) :].startswith(
        f"{engine} build --target serve --tag {image}:latest "
    )
    tagged = run(["make", "-n", "docker-build", "IMAGE=reg.example/x", "TAG=v9"], cwd=project)
    assert f"{engine} build --target serve --tag reg.example/x:v9 --build-arg VERSION=v9" in (
        tagged.stdout
    )
    train = run(["make", "-n", "docker-build-train", "IMAGE=reg.example/x", "TAG=v9"], cwd=project)
    assert train.stdout.startswith(exported)
    assert f"{engine} build --target train --tag reg.example/x-train:v9 --build-arg VERSION=v9" in (
        train.stdout
    )
    named = run(["make", "-n", "docker-build-train", "TRAIN_IMAGE=reg.example/t"], cwd=project)
    assert "--tag reg.example/t:latest " in named.stdout
    started = run(["make", "-n", "docker-run"], cwd=project).stdout
    assert f"{engine} run --rm --read-only --tmpfs /tmp --publish 127.0.0.1:8080:8080" in started
    assert "--env MODEL_URI --env MLFLOW_TRACKING_URI" in started


@pytest.mark.parametrize(
    ("variables", "engine"),
    [(["CONTAINER_ENGINE=podman"], "podman"), (["DOCKER=/opt/bin/docker"], "/opt/bin/docker")],
)
def test_docker_targets_take_the_engine_and_extra_flags(
    project: Path, variables: list[str], engine: str
) -> None:
    flags = ["BUILD_FLAGS=--isolation chroot", "RUN_FLAGS=--name svc"]
    built = run(["make", "-n", "docker-build", *variables, *flags], cwd=project).stdout
    build = built.splitlines()[-1]
    assert build.startswith(f"{engine} build --target serve --tag ")
    assert build.rstrip().endswith(" --isolation chroot .")
    started = run(["make", "-n", "docker-run", *variables, *flags], cwd=project).stdout
    assert started.startswith(f"{engine} run --rm --read-only ")
    assert " --name svc " in started


@pytest.mark.parametrize("answers", MATRIX, ids=_id)
def test_targets_exist_exactly_with_their_feature(answers: dict[str, Any], tmp_path: Path) -> None:
    project = render(tmp_path / "p", **answers)
    listed = run(["make", "help"], cwd=project).stdout
    shown = {line.split()[0] for line in listed.splitlines() if line.startswith("  ")}
    docker = {"docker-build", "docker-build-train", "docker-run"}
    helm = {"helm-lint", "helm-template", "helm-package"}
    assert (docker <= shown, docker & shown) == (
        (True, docker) if enabled(answers, "docker") else (False, set())
    )
    assert (helm & shown) == (helm if enabled(answers, "helm") else set())
