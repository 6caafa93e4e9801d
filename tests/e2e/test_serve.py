"""The generated prediction service, run for real: registry and exported model, fuzzing, stop."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.support import BIN, DEFAULT_PACKAGE, answered, free_port, run, stop_group

pytestmark = pytest.mark.e2e

MODEL_NAME = "heart-disease-risk"
READY_WITHIN = 120.0  # seconds: importing MLflow and loading the model, on a busy machine
STOP_WITHIN = 30.0


def _request(url: str, body: Any = None, raw: bytes | None = None) -> tuple[int, bytes]:
    """Status and body of a GET (no body) or a JSON POST; HTTP errors are answers too."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class Service:
    """A running service: its base URL, its process, and its exit status once stopped."""

    url: str
    process: subprocess.Popen[str]
    exit_status: int | None = None

    def post(self, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        status, content = _request(self.url + path, body, raw)
        return status, json.loads(content)

    def text(self, path: str) -> str:
        status, content = _request(self.url + path)
        assert status == 200, content
        return content.decode()


def _wait_for(url: str, process: subprocess.Popen[str], within: float) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the service exited with {process.returncode}:\n{out}\n{err}")
        try:
            if _request(url)[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 within {within} s")


def _stop(process: subprocess.Popen[str]) -> int:
    """SIGTERM to the process group; its exit status (killed, and failing, after the bound)."""
    if not stop_group(process, STOP_WITHIN):
        pytest.fail(f"still running {STOP_WITHIN} s after SIGTERM")
    return process.returncode


@contextmanager
def _service(
    project: Path, env: Mapping[str, str], *, make: bool = False, probe: str = "/ready"
) -> Iterator[Service]:
    """Start the service (or `make serve`) in its own process group on a free loopback port.

    Stopped with SIGTERM on the way out, which the test checks through ``exit_status``.
    """
    port = free_port()
    package = answered(project, "package_name")
    python = [str(project / ".venv/bin/python"), "-m", f"{package}.serve"]
    environ = {k: v for k, v in os.environ.items() if k not in {"MODEL_DIR", "MODEL_URI"}}
    environ.pop("MLFLOW_TRACKING_URI", None)
    environ |= {"SERVE_HOST": "127.0.0.1", "SERVE_PORT": str(port), **env}
    process = subprocess.Popen(
        ["make", "serve", f"SERVE_PORT={port}"] if make else python,
        cwd=project,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    service = Service(f"http://127.0.0.1:{port}", process)
    try:
        _wait_for(service.url + probe, process, READY_WITHIN)
        yield service
    finally:
        if process.poll() is None:
            service.exit_status = _stop(process)


def _assert_matches_champion(
    service: Service, held_back: tuple[list[dict[str, float]], list[float]]
) -> dict[str, Any]:
    rows, probabilities = held_back
    status, answer = service.post("/predict", {"records": rows})
    assert status == 200, answer
    served = [p["probability"] for p in answer["predictions"]]
    assert served == pytest.approx(probabilities, abs=1e-12)
    assert [p["prediction"] for p in answer["predictions"]] == [int(p >= 0.5) for p in served]
    assert len(served) == len(rows) > 0
    return answer["model"]


def test_registry_and_directory_serve_the_champion(
    trained: Path, exported: Path, held_back: tuple[list[dict[str, float]], list[float]]
) -> None:
    """From MODEL_URI (the registry, with the ONNX graph registered with the champion) and from
    MODEL_DIR (the export's own graph): the champion's predictions, as MLflow's own loader gives
    them."""
    assert (exported / "MLmodel").is_file()
    assert (exported / "model.onnx").is_file()
    gate = json.loads((exported / "registered_model.json").read_text(encoding="utf-8"))["onnx"]
    assert gate["exported"] is True
    assert gate["rows"] > len(held_back[0])
    assert gate["max_abs_difference"] <= gate["tolerance"]
    registry = {"MODEL_DIR": "", "MODEL_URI": f"models:/{MODEL_NAME}@champion"}
    with _service(trained, registry) as service:
        model = _assert_matches_champion(service, held_back)
        assert (model["name"], model["version"]) == (MODEL_NAME, "1")
        assert model["runtime"].startswith("onnxruntime ")
    assert service.exit_status == 0
    # The export alone, without the registry: a tracking URI that cannot be used proves it.
    directory = {"MODEL_DIR": str(exported), "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    with _service(trained, directory) as service:
        model = _assert_matches_champion(service, held_back)
        assert (model["name"], model["version"], model["uri"]) == (
            MODEL_NAME,
            "1",
            f"models:/{MODEL_NAME}/1",
        )
        assert model["runtime"].startswith("onnxruntime ")
        assert (
            json.loads(_request(service.url + "/ready")[1])["model"]["runtime"] == model["runtime"]
        )
    assert service.exit_status == 0


def test_bad_requests_are_4xx_and_counted(trained: Path, exported: Path) -> None:
    """Each bad-input class gets a 4xx naming the problem; /metrics counts them by status."""
    good = {
        "age": 63,
        "sex": 1,
        "cp": 1,
        "trestbps": 145,
        "chol": 233,
        "fbs": 1,
        "restecg": 2,
        "thalach": 150,
        "exang": 0,
        "oldpeak": 2.3,
        "slope": 3,
        "ca": 0,
        "thal": 6,
    }
    without_age = {k: v for k, v in good.items() if k != "age"}
    cases: list[tuple[Any, bytes | None, int, str]] = [
        ({"records": [without_age]}, None, 422, "records.0.age"),
        ({"records": [{**good, "chol": "high"}]}, None, 422, "records.0.chol"),
        ({"records": [{**good, "age": 200}]}, None, 422, "records.0.age"),
        ({"records": [{**good, "thal": 4}]}, None, 422, "records.0.thal"),
        ({"records": [{**good, "bmi": 22}]}, None, 422, "records.0.bmi"),
        ({"records": []}, None, 422, "records"),
        ({"records": [good] * 3}, None, 422, "records"),  # SERVE_MAX_RECORDS=2
        (None, b'{"records": [', 400, "body"),
        (None, b" " * 50_000, 413, "body"),  # SERVE_MAX_BODY_BYTES=20000
    ]
    limits = {"SERVE_MAX_RECORDS": "2", "SERVE_MAX_BODY_BYTES": "20000"}
    with _service(trained, {"MODEL_DIR": str(exported), **limits}) as service:
        for body, raw, status, field in cases:
            got, answer = service.post("/predict", body, raw)
            assert (got, answer["message"].split(":")[0]) == (status, field), answer
        assert service.post("/predict", {"records": [good]})[0] == 200
        metrics = service.text("/metrics")
    for status, count in (("422", 7), ("400", 1), ("413", 1), ("200", 1)):
        labels = f'endpoint="/predict",method="POST",status="{status}",variant="champion"'
        line = f"http_requests_total{{{labels}}}"
        assert f"{line} {count}.0" in metrics, metrics
    assert "predictions_total" in metrics


def test_schemathesis_finds_no_server_error(trained: Path, exported: Path, tmp_path: Path) -> None:
    """Fuzzing every documented operation: no 5xx, and the answers match the OpenAPI spec.

    Run outside the shared project: schemathesis leaves a .schemathesis/ folder where it runs."""
    with _service(trained, {"MODEL_DIR": str(exported)}) as service:
        done = run(
            [
                BIN / "schemathesis",
                "run",
                f"{service.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "50",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
            ],
            cwd=tmp_path,
            check=False,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout


def test_sigterm_exits_cleanly_and_no_model_exits_1(trained: Path, tmp_path: Path) -> None:
    """SIGTERM: exit status 0 within the bound; a MODEL_DIR without a model: 1, one line."""
    with _service(trained, {"MODEL_URI": f"models:/{MODEL_NAME}@champion"}) as service:
        pid = service.process.pid
    assert service.exit_status == 0
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole group is gone
    failed = run(
        [trained / ".venv/bin/python", "-m", f"{DEFAULT_PACKAGE}.serve", "--port", "0"],
        cwd=trained,
        env={"MODEL_DIR": str(tmp_path)},
        check=False,
        timeout=120,
    )
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last == (
        f"serve: {tmp_path} is not an MLflow model directory (no MLmodel file); "
        "run `make export-model` or unset MODEL_DIR"
    )
    assert "Traceback" not in failed.stderr


def test_make_serve_starts_the_service(trained: Path, exported: Path) -> None:
    """`make serve SERVE_PORT=…` serves; SIGTERM to its process group stops it within the bound."""
    with _service(trained, {"MODEL_DIR": str(exported)}, make=True, probe="/health") as service:
        assert json.loads(_request(service.url + "/health")[1])["status"] == "ok"
        _wait_for(service.url + "/ready", service.process, READY_WITHIN)
    assert service.exit_status is not None
    assert service.process.poll() is not None


@dataclass(frozen=True)
class Failure:
    """How a service that cannot serve ended: its status, stderr, and each /ready answer."""

    returncode: int
    stderr: str
    ready: list[tuple[int, dict[str, Any]]]


def _fail_to_serve(project: Path, env: Mapping[str, str], logs: Path) -> Failure:
    """Start the service, ask /ready until the process exits (bounded), collect the answers."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k not in {"MODEL_DIR", "MODEL_URI"}}
    environ.pop("MLFLOW_TRACKING_URI", None)
    environ |= {"SERVE_HOST": "127.0.0.1", "SERVE_PORT": str(port), **env}
    answers: list[tuple[int, dict[str, Any]]] = []
    with (logs / "out").open("w") as out, (logs / "err").open("w") as err:
        process = subprocess.Popen(
            [str(project / ".venv/bin/python"), "-m", f"{DEFAULT_PACKAGE}.serve"],
            cwd=project,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + READY_WITHIN
        try:
            while process.poll() is None:
                assert time.monotonic() < deadline, f"still running after {READY_WITHIN} s"
                try:
                    status, body = _request(f"http://127.0.0.1:{port}/ready")
                    answers.append((status, json.loads(body)))
                except OSError:
                    pass  # not listening yet, or no longer
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                _stop(process)
    return Failure(process.returncode, (logs / "err").read_text(encoding="utf-8"), answers)


def _damage(exported: Path, into: Path, damage: str) -> Path:
    """A copy of the export with one file truncated (``cut:NAME``) or removed (``rm:NAME``)."""
    copy = shutil.copytree(exported, into / "model")
    how, _, name = damage.partition(":")
    if name == "model.skops":
        (copy / "model.onnx").unlink()  # so that scikit-learn's file is the one loaded
    if how == "cut":
        (copy / name).write_bytes((copy / name).read_bytes()[:40])
    else:
        (copy / name).unlink()
    return copy


DAMAGED = {
    "cut:model.onnx": "cannot load the model from directory {dir}: ONNX Runtime cannot load",
    "cut:model.skops": "cannot load the model from directory {dir}: File is not a zip file",
    "rm:registered_model.json": (
        "directory {dir} holds model.onnx but no registered_model.json (an incomplete export): "
        "run `make export-model` again"
    ),
    "rm:MLmodel": (
        "{dir} is not an MLflow model directory (no MLmodel file); "
        "run `make export-model` or unset MODEL_DIR"
    ),
}
# MODEL_URI, MLFLOW_TRACKING_URI (empty: the default) and the reason after the source's name.
NOWHERE = {
    "alias": (f"models:/{MODEL_NAME}@nobody", "", "Registered model alias nobody not found."),
    "model": (
        "models:/no-such-model/1",
        "",
        "Model Version (name=no-such-model, version=1) not found",
    ),
    "server": (
        "",
        "http://127.0.0.1:{port}",
        "API request to http://127.0.0.1:{port}/api/2.0/mlflow/",
    ),
    "store": (
        "",
        "sqlite:///{tmp}/nowhere/mlflow.db",
        "{tmp}/nowhere/mlflow.db does not exist "
        "(`make repro` creates it, or set MLFLOW_TRACKING_URI)",
    ),
}


def _assert_one_line(failure: Failure, reason: str) -> None:
    """Exit 1; stderr holds uvicorn's INFO records and one line of ours, the reason; every
    /ready answer while the process was up was 503 with ``loading`` or that reason."""
    assert failure.returncode == 1, failure.stderr
    assert "Traceback" not in failure.stderr
    ours = [line for line in failure.stderr.splitlines() if not line.startswith("INFO:")]
    assert len(ours) == 1, failure.stderr
    assert ours[0].startswith(f"serve: {reason}"), failure.stderr
    assert failure.stderr.splitlines()[-1] == ours[0]
    full_reason = ours[0].removeprefix("serve: ")
    for status, body in failure.ready:
        assert status == 503, body
        assert (body["status"], body["reason"]) in {
            ("loading", "the model is still loading"),
            ("failed", full_reason),
        }, body


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_damaged_model_dir_exits_1_in_one_line(
    trained: Path, exported: Path, tmp_path: Path, damage: str
) -> None:
    """A truncated model file, a missing metadata file: /ready says 503 while the process is
    up, then it exits 1 after one line naming the directory, never a traceback or a retry."""
    damaged = _damage(exported, tmp_path, damage)
    logs = tmp_path / "logs"
    logs.mkdir()
    failure = _fail_to_serve(trained, {"MODEL_DIR": str(damaged)}, logs)
    _assert_one_line(failure, DAMAGED[damage].format(dir=damaged))


@pytest.mark.parametrize("case", list(NOWHERE))
def test_a_registry_uri_to_nothing_exits_1_in_one_line(
    trained: Path, tmp_path: Path, case: str
) -> None:
    """An alias, a model or a SQLite store that does not exist: the same one-line exit, and
    no empty store created in the place of the missing one."""
    port = free_port()  # nothing listens there: a tracking server that is down
    uri, store, reason = (part.format(tmp=tmp_path, port=port) for part in NOWHERE[case])
    env = {"MODEL_DIR": "", "MODEL_URI": uri} | ({"MLFLOW_TRACKING_URI": store} if store else {})
    failure = _fail_to_serve(trained, env, tmp_path)
    uri = uri or f"models:/{MODEL_NAME}@champion"
    store = store or f"sqlite:///{trained / 'mlflow.db'}"
    _assert_one_line(
        failure, f"cannot load the model from {uri} (tracking store {store}): {reason}"
    )
    assert not (tmp_path / "nowhere").exists()


def _predict(url: str, records: list[dict[str, float]], request_id: str | None) -> dict[str, Any]:
    """One POST /predict; the answer, checked to carry its id in the header as in the body."""
    headers = {"content-type": "application/json"}
    if request_id is not None:
        headers["x-request-id"] = request_id
    body = json.dumps({"records": records}).encode()
    request = urllib.request.Request(f"{url}/predict", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
        assert response.headers["x-request-id"] == answer["request_id"]
    return answer


def test_prediction_log_holds_every_request_after_sigterm(
    trained: Path,
    exported: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
    tmp_path: Path,
) -> None:
    """N answered requests (1 to 10 records, from 4 clients), then SIGTERM: exactly one line per
    request, valid JSON, holding the body sent and the answer given, under the answer's id."""
    rows = held_back[0]
    batches = [rows[: 1 + (n % 4) * 3] for n in range(60)]  # 1, 4, 7 and 10 records
    given = [f"client-{n}" if n % 5 == 0 else None for n in range(len(batches))]
    log_dir = tmp_path / "predictions"
    env = {"MODEL_DIR": str(exported), "PREDICTION_LOG_DIR": str(log_dir)}
    with _service(trained, env) as service, ThreadPoolExecutor(max_workers=4) as clients:
        answers = list(clients.map(partial(_predict, service.url), batches, given))
    assert service.exit_status == 0
    files = sorted(log_dir.iterdir())
    assert files and all(
        re.fullmatch(r"predictions-\d{8}T\d{6}Z-\d+\.jsonl", f.name) for f in files
    )
    text = "".join(path.read_text(encoding="utf-8") for path in files)
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == len(batches)
    logged = {line["response"]["request_id"]: line for line in lines}
    assert len(logged) == len(lines)  # no request twice
    for batch, request_id, answer in zip(batches, given, answers, strict=True):
        if request_id is not None:
            assert answer["request_id"] == request_id
        line = logged[answer["request_id"]]
        assert set(line) == {"time", "request", "response"}
        assert line["request"] == {"records": batch}
        assert line["response"] == answer
        assert answer["model"]["name"] == MODEL_NAME
        assert answer["model"]["version"] == "1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", line["time"])
