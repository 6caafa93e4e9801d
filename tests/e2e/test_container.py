"""E2E: the generated image, built by `make docker-build` and run for real; its commands outside.

The container tests use the engine of `make container-engine` (Podman here: its base image is a
local stand-in for the official python image, see .ci/container-engine). The image runs as its
Dockerfile says, with a read-only root and /tmp in memory, on a free loopback port. The first
test runs the Dockerfile's CMD and HEALTHCHECK with the project venv's python, outside any
container, to show the health check fails once nothing answers.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.engine import Engine
from tests.support import DEFAULT_PACKAGE, free_port, run, stage_config, stop_group

pytestmark = pytest.mark.e2e

READY_WITHIN = 180.0  # seconds: a bound on the wait, not a performance assertion
BUILD_WITHIN = 1800.0  # seconds: the first build downloads every locked runtime dependency
GRACE = 10  # seconds between SIGTERM and SIGKILL on `stop`
UID = "10001"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _image_commands(project: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """The `serve` image's ENV, CMD and HEALTHCHECK command, inherited stages included."""
    return stage_config(project / "Dockerfile", "serve")


def _as_local(command: list[str], python: Path) -> list[str]:
    assert command[0] == "python", "the image's commands run its venv's python"
    return [str(python), *command[1:]]


def test_image_command_serves_the_exported_champion(trained: Path, tmp_path: Path) -> None:
    before = run(["git", "status", "--porcelain"], cwd=trained).stdout
    run(["make", "export-model"], cwd=trained)
    model = trained / "models" / "serving"
    assert (model / "MLmodel").is_file()

    image_env, command, healthcheck = _image_commands(trained)
    assert image_env["MODEL_DIR"] == "/app/model"
    python = trained / ".venv" / "bin" / "python"
    port = free_port()
    workdir = tmp_path / "app"  # like the image's WORKDIR: no project files around
    workdir.mkdir()
    env = {
        **os.environ,
        **{name: value for name, value in image_env.items() if name != "PATH"},
        "HOME": str(tmp_path),  # the image's HOME is its writable /tmp
        "SERVE_HOST": "127.0.0.1",
        "SERVE_PORT": str(port),
        "MODEL_DIR": str(model),
    }
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            _as_local(command, python),
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_WITHIN
        while _status(f"{base}/ready") != 200:
            assert server.poll() is None, f"the service exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"not ready in time:\n{log.read_text()}"
            time.sleep(0.5)
        healthy = run(_as_local(healthcheck, python), cwd=workdir, env=env, check=False)
        assert healthy.returncode == 0, healthy.stderr
        assert _status(f"{base}/health") == 200
    finally:
        stop_group(server)
    # The same health check fails once nothing answers: it can tell a dead container apart.
    dead = run(_as_local(healthcheck, python), cwd=workdir, env=env, check=False)
    assert dead.returncode != 0
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == before


def test_docker_build_target_tags_the_commit(trained: Path) -> None:
    """Without IMAGE and TAG, the image is named after the project and tagged `git describe`."""
    described = run(["git", "describe", "--tags", "--always", "--dirty"], cwd=trained).stdout
    planned = run(["make", "-n", "docker-build", "CONTAINER_ENGINE=podman"], cwd=trained).stdout
    image = f"ghcr.io/your-org/heart-disease-risk:{described.strip()}"
    build = f"podman build --target serve --tag {image} --build-arg VERSION={described.strip()}"
    assert build in planned


# ── The real image ──────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def image(engine: Engine, trained: Path) -> Iterator[str]:  # engine first: fail or skip early
    """`make docker-build` with the engine of this machine; the image is removed afterwards."""
    export = trained / "models" / "serving"
    had_export = export.exists()
    name = f"localhost/scaffold-e2e-{uuid.uuid4().hex[:10]}:test"
    repository, tag = name.rsplit(":", 1)
    before = run(["git", "status", "--porcelain"], cwd=trained).stdout
    try:
        run(
            [
                *("make", "docker-build", f"CONTAINER_ENGINE={engine.command}"),
                *(f"IMAGE={repository}", f"TAG={tag}", f"BUILD_FLAGS={engine.make_flags()}"),
            ],
            cwd=trained,
            env=engine.env,
            timeout=BUILD_WITHIN,
        )
        yield name
    finally:
        engine("rmi", "--force", name, check=False)
        if not had_export:
            shutil.rmtree(export, ignore_errors=True)
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == before


TRAINING_STACK = ("mlflow", "sklearn", "pandas", "dvc")
# Exits 1 when any module named in argv is importable, 0 when none is.
FIND_ANY = (
    "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) for m in sys.argv[1:]))"
)


def test_image_is_lean_and_scores_with_onnx(engine: Engine, image: str) -> None:
    """The `serve` image holds the ONNX export and no training stack in /opt/venv."""
    python = ("run", "--rm", "--read-only", "--entrypoint", "python", image, "-c")
    found = engine(*python, FIND_ANY, *TRAINING_STACK, check=False)
    assert found.returncode == 0, f"the training stack is in the image: {found.stderr}"
    served_by = engine(*python, FIND_ANY, "onnxruntime", "fastapi", check=False)
    assert served_by.returncode == 1, "onnxruntime or fastapi missing"
    listed = engine("run", "--rm", "--read-only", "--entrypoint", "ls", image, "/app/model")
    assert "model.onnx" in listed.stdout.split()


def test_serve_target_refuses_to_build_without_the_onnx_export(
    engine: Engine, trained: Path, tmp_path: Path
) -> None:
    """An export without model.onnx (its gate failed) stops the build with one clear line."""
    for name in ("Dockerfile", "pyproject.toml", "uv.lock"):
        shutil.copy2(trained / name, tmp_path / name)
    (tmp_path / "models" / "serving").mkdir(parents=True)
    (tmp_path / "models" / "serving" / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
    tag = f"localhost/scaffold-e2e-{uuid.uuid4().hex[:10]}:refused"
    flags = shlex.split(engine.make_flags())
    built = engine("build", "--target", "serve", "--tag", tag, *flags, str(tmp_path), check=False)
    engine("rmi", "--force", tag, check=False)
    assert built.returncode != 0
    assert "models/serving/model.onnx is missing" in built.stdout + built.stderr
    assert "make docker-build-train" in built.stdout + built.stderr


def _inspect(engine: Engine, container: str, template: str) -> str:
    return engine("inspect", "--format", template, container).stdout.strip()


def _wait_ready(engine: Engine, container: str, url: str) -> None:
    """Poll /ready until 200; fail when the container stops or the bound runs out."""
    deadline = time.monotonic() + READY_WITHIN
    while _status(url) != 200:
        if _inspect(engine, container, "{{.State.Running}}") != "true":
            logs = engine("logs", container, check=False)
            pytest.fail(f"the container stopped:\n{logs.stdout}{logs.stderr}")
        if time.monotonic() > deadline:
            pytest.fail(f"{url} not 200 within {READY_WITHIN} s")
        time.sleep(0.5)


def _predict(url: str, rows: list[dict[str, float]]) -> dict[str, Any]:
    body = json.dumps({"records": rows}).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def test_image_serves_the_champion_read_only_as_its_user_and_stops_on_sigterm(
    engine: Engine,
    image: str,
    trained: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
) -> None:
    _env, command, healthcheck = _image_commands(trained)
    container = f"scaffold-e2e-{uuid.uuid4().hex[:10]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        engine(
            *("run", "--detach", "--name", container, "--read-only", "--tmpfs", "/tmp"),
            *("--publish", f"127.0.0.1:{port}:8080", image),
        )
        _wait_ready(engine, container, f"{base}/ready")

        # The champion's probabilities on the held-back rows, as MLflow computes them in-process.
        rows, probabilities = held_back
        answer = _predict(f"{base}/predict", rows)
        served = [p["probability"] for p in answer["predictions"]]
        assert served == pytest.approx(probabilities, abs=1e-12)
        assert len(served) == len(rows) > 0
        assert (answer["model"]["name"], answer["model"]["version"]) == ("heart-disease-risk", "1")

        # The Dockerfile's user and command, a read-only root and a writable /tmp.
        assert _inspect(engine, container, "{{.Config.User}}") == f"{UID}:{UID}"
        assert engine("exec", container, "id", "-u").stdout.strip() == UID
        assert engine("exec", container, "id", "-g").stdout.strip() == UID
        assert engine("exec", container, "cat", "/proc/1/cmdline").stdout.split("\0")[:3] == [
            *command[:2],
            f"{DEFAULT_PACKAGE}.serve",
        ]
        assert engine("exec", container, "touch", "/app/x", check=False).returncode != 0
        engine("exec", container, "touch", "/tmp/x")

        # The HEALTHCHECK the image carries passes inside the container.
        declared = json.loads(_inspect(engine, container, "{{json .Config.Healthcheck}}"))
        assert declared["Test"] == ["CMD", *healthcheck]
        engine("exec", container, *healthcheck)
        if engine.is_podman:
            engine("healthcheck", "run", container)

        # SIGTERM: a clean stop (exit status 0, as the service documents) within the grace period.
        started = time.monotonic()
        engine("stop", "--time", str(GRACE), container, timeout=GRACE + 60)
        assert time.monotonic() - started < GRACE, "stopped by SIGKILL, not by SIGTERM"
        assert _inspect(engine, container, "{{.State.ExitCode}}") == "0"
        logs = engine("logs", container)
        output = logs.stdout + logs.stderr
        assert "Finished server process" in output
        assert "Traceback" not in output
    finally:
        engine("rm", "--force", container, check=False)
