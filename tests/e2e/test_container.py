"""E2E: the image's command and health check, run outside a container (no Docker engine here).

The test reads ENV, CMD and HEALTHCHECK from the generated Dockerfile and runs them as the
image would, with the project venv's python standing in for the image's: from an empty working
directory, the exported champion as MODEL_DIR, on a free loopback port instead of 0.0.0.0:8080.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.support import free_port, run, stop_group

pytestmark = pytest.mark.e2e

READY_WITHIN = 180.0  # seconds: a bound on the wait, not a performance assertion


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _image_commands(project: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """The runtime stage's ENV, CMD and HEALTHCHECK command, as Docker reads them."""
    parser = DockerfileParser(path=str(project / "Dockerfile"))
    checks = [item["value"] for item in parser.structure if item["instruction"] == "HEALTHCHECK"]
    assert len(checks) == 1
    return parser.envs, json.loads(parser.cmd), json.loads(checks[0].split(" CMD ", 1)[1])


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
    """No engine to build with: check the command `make docker-build` would run."""
    described = run(["git", "describe", "--tags", "--always", "--dirty"], cwd=trained).stdout
    planned = run(["make", "-n", "docker-build"], cwd=trained).stdout
    image = f"ghcr.io/your-org/heart-disease-risk:{described.strip()}"
    assert f"docker build --tag {image} --build-arg VERSION={described.strip()}" in planned
