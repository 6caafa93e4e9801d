"""E2E: the pods of the DAG's `runner: kubernetes`, each run under Podman as its pod would run.

No cluster exists here, so the pods' containers run in the container engine of `make
container-engine` (Podman here; the base image is a local stand-in for the official python
image, see .ci/container-engine). The pods are the DAG's own, as Airflow parses it with
`runner: kubernetes` and the operator builds them offline (dry run): their image, command,
working directory, environment, user, security context and mounts become the `podman run`
flags. The training image is the project's Dockerfile's `train` target. The workspace claim is
a Podman volume holding a clone of the project with its data pulled from the DVC remote,
owned by user 10001 (what the pod's fsGroup gives a claim). Every stage then runs in order with
a read-only root, no capabilities, no new privileges, /tmp in memory and no network: a stage's
outputs reach the next one only through the workspace volume, as they would through the claim.
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.engine import Engine
from tests.support import DEFAULT_PACKAGE, run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("airflow")]

DAG_ID = f"{DEFAULT_PACKAGE}_pipeline"
STAGES = ["prepare", "validate", "train", "evaluate"]
BUILD_WITHIN = 1800.0  # seconds: the first build downloads every locked runtime dependency
# Each pod task's Pod as the API server would receive it, from the DAG in argv[1].
PODS = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from kubernetes.client import ApiClient
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
client = ApiClient()
print(json.dumps({
    task.task_id: client.sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
    for task in bag.dags[sys.argv[2]].tasks
    if hasattr(task, "build_pod_request_obj")
}))
"""


@pytest.fixture(scope="module")
def project(airflow_project: Path) -> Path:
    """The shared Airflow project (tests/e2e/conftest.py), its data on the DVC remote."""
    return airflow_project


@pytest.fixture(scope="module")
def image(engine: Engine, project: Path) -> Iterator[str]:
    """The project's training image (the Dockerfile's `train` target), removed afterwards."""
    name = f"localhost/scaffold-e2e-{uuid.uuid4().hex[:10]}-train:test"
    export = project / "models" / "serving"  # the target copies an export, none here
    export.mkdir(parents=True)
    started = time.monotonic()
    try:
        flags = shlex.split(engine.make_flags())
        engine(
            "build", "--target", "train", "--tag", name, *flags, str(project), timeout=BUILD_WITHIN
        )
        print(f"train image built in {time.monotonic() - started:.0f} s")
        yield name
    finally:
        engine("rmi", "--force", name, check=False)
        shutil.rmtree(export)


@pytest.fixture(scope="module")
def pods(project: Path, image: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The DAG's pods with `runner: kubernetes` and the training image just built."""
    copy = tmp_path_factory.mktemp("dag")
    shutil.copytree(project / "dags", copy / "dags")
    shutil.copy(project / "dvc.yaml", copy)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["airflow"]["runner"] = "kubernetes"
    params["airflow"]["kubernetes"]["image"] = image
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    env = {"AIRFLOW_HOME": str(copy / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    python = project / ".venv" / "bin" / "python"
    printed = run([python, "-c", PODS, copy / "dags", DAG_ID], cwd=project, env=env).stdout
    found: dict[str, Any] = json.loads(printed.strip().splitlines()[-1])
    return found


@pytest.fixture
def workspace(engine: Engine, project: Path, image: str, tmp_path: Path) -> Iterator[str]:
    """The workspace claim: a volume holding a clone of the project, its data pulled, owned
    by the pods' user."""
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", project, clone], cwd=tmp_path)
    tracked = run(["git", "ls-files", "*.dvc"], cwd=clone).stdout.split()  # the raw data
    run([project / ".venv/bin/dvc", "pull", "--quiet", *tracked], cwd=clone)
    volume = f"scaffold-e2e-{uuid.uuid4().hex[:10]}"
    engine("volume", "create", volume)
    try:
        engine(
            *("run", "--rm", "--user", "0:0", "--network", "none"),
            *("--volume", f"{volume}:/workspace", "--volume", f"{clone}:/seed:ro", image),
            *("sh", "-c", "cp -a /seed/. /workspace/ && chown -R 10001:10001 /workspace"),
        )
        yield volume
    finally:
        engine("volume", "rm", "--force", volume, check=False)


def run_flags(pod: dict[str, Any], claims: dict[str, str]) -> list[str]:
    """`podman run` flags for the pod's first container: its user, security context, working
    directory, environment and mounts (a claim: the volume `claims` names; an emptyDir: a
    tmpfs, unless `claims` names a volume for it too)."""
    spec = pod["spec"]
    container = spec["containers"][0]
    security = {**spec["securityContext"], **container["securityContext"]}
    flags = [
        "--rm",
        "--network",
        "none",
        "--user",
        f"{security['runAsUser']}:{security['runAsGroup']}",
    ]
    if security["readOnlyRootFilesystem"]:
        flags.append("--read-only")
    flags += [f"--cap-drop={capability}" for capability in security["capabilities"]["drop"]]
    if not security["allowPrivilegeEscalation"]:
        flags += ["--security-opt", "no-new-privileges"]
    flags += ["--workdir", container["workingDir"]]
    for variable in container["env"]:
        flags += ["--env", f"{variable['name']}={variable['value']}"]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if mount["name"] in claims:
            flags += ["--volume", f"{claims[mount['name']]}:{mount['mountPath']}"]
        elif "emptyDir" in volume:
            flags += ["--tmpfs", mount["mountPath"]]
        else:
            raise AssertionError(f"no volume given for the mount {mount}")
    return flags


def in_pod(engine: Engine, pod: dict[str, Any], claims: dict[str, str], *command: str) -> str:
    """Run ``command`` (else the pod's own) in the pod's container; its output."""
    container = pod["spec"]["containers"][0]
    argv = list(command) or [*container["command"], *container.get("args", [])]
    done = engine("run", *run_flags(pod, claims), container["image"], *argv, timeout=600)
    return done.stdout + done.stderr


def test_the_pods_run_the_pipeline_in_order_through_the_workspace_volume(
    engine: Engine, pods: dict[str, Any], workspace: str
) -> None:
    claims = {"workspace": workspace}
    assert set(pods) == {*STAGES, "monitor_pod", "retrain"}
    timings = {}
    for stage in STAGES:
        pod = pods[stage]
        assert pod["spec"]["containers"][0]["command"][-2:] == ["--single-item", stage]
        started = time.monotonic()
        output = in_pod(engine, pod, claims)
        timings[stage] = round(time.monotonic() - started, 1)
        assert f"Running stage '{stage}'" in output, output
    print("stage pods, seconds each:", timings)  # shown with -rP

    # The last stage's outputs are on the volume, and DVC finds the pipeline complete.
    last = pods[STAGES[-1]]
    metrics = json.loads(in_pod(engine, last, claims, "cat", "reports/metrics.json"))
    assert metrics
    assert "model.joblib" in in_pod(engine, last, claims, "ls", "models").split()
    assert "Data and pipelines are up to date." in in_pod(engine, last, claims, "dvc", "status")
    # The root file system is read-only: the mounts are the only places a stage can write.
    denied = engine("run", *run_flags(last, claims), last["spec"]["containers"][0]["image"],
                    "touch", "/app/x", check=False)  # fmt: skip
    assert denied.returncode != 0

    # The monitor's pod: no prediction log yet, its verdict in the XCom file for the branch.
    xcom = f"{workspace}-xcom"
    engine("volume", "create", xcom)
    try:
        monitor = pods["monitor_pod"]
        engine(
            *("run", "--rm", "--user", "0:0", "--volume", f"{xcom}:/airflow/xcom"),
            *(monitor["spec"]["containers"][0]["image"], "chown", "10001:10001", "/airflow/xcom"),
        )
        output = in_pod(engine, monitor, {**claims, "xcom": xcom})
        assert "monitor: no prediction log" in output, output
        verdict = in_pod(
            engine, monitor, {**claims, "xcom": xcom}, "cat", "/airflow/xcom/return.json"
        )
        assert json.loads(verdict) == {"code": 1, "no_prediction_log": True}
    finally:
        engine("volume", "rm", "--force", xcom, check=False)

    # The retrain branch's pod: every stage again, forced, and the gate on a second version.
    retrain = pods["retrain"]
    assert retrain["spec"]["containers"][0]["command"][-1] == "--force"
    output = in_pod(engine, retrain, claims)
    for stage in STAGES:
        assert f"Running stage '{stage}'" in output, output
    assert f"registered {DEFAULT_PACKAGE.replace('_', '-')} version 2" in output, output
