"""E2E: `make canary-check` against a real Prometheus scraping two real services.

The generated project serves its exported champion twice, as the stable and the canary track,
each with its metrics on a port of its own (METRICS_PORT, as the chart runs it); Prometheus
scrapes both metrics ports every second with the `track` label that the chart's ServiceMonitor
copies from the pods (here a static scrape config's `labels`). The test sends the same requests
to both in turn, then runs `make canary-check` with short settings (a params.yaml of its own,
through the project's root variable): nothing scraped yet -> 4, a healthy canary -> 0, a canary
made slow from its inputs (the champion behind a step that sleeps 20 ms) -> 3.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_alerts import Prometheus, launch_prometheus
from tests.e2e.test_serve import Service, _service
from tests.support import free_port, run, stop_group

pytestmark = pytest.mark.e2e

SLUG = "heart-disease-risk"
ROOT_VARIABLE = "HEART_DISEASE_RISK_ROOT"
# Short settings for a test: 2 s steps over the last minute, 10 of them per track; the latency
# margin is wide because two shared cores make a step's mean latency noisy.
CANARY = {
    "window_seconds": 60,
    "step_seconds": 2,
    "min_samples": 10,
    "alpha": 0.05,
    "error_margin": 0.01,
    "latency_margin": 0.5,
    "selector": f'job="{SLUG}"',
}
DRIVE_SECONDS = 30.0  # requests to both tracks: ~15 steps with requests each
SCRAPED_WITHIN = 5.0  # the last requests scraped (1 s) and their step closed (2 s)
SLOW_MODEL = """
import sys, time
import mlflow.sklearn, pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

def slow(rows):
    time.sleep(0.02)
    return rows

features = pd.read_csv(sys.argv[3]).drop(columns="id")
champion = mlflow.sklearn.load_model(sys.argv[1])
slowed = Pipeline([("slow", FunctionTransformer(slow).fit(features)), ("model", champion)])
mlflow.sklearn.save_model(
    slowed, sys.argv[2], serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
)
"""


@pytest.fixture(scope="module")
def slow_model(trained: Path, exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The exported champion behind a step that sleeps 20 ms per call: same answers, slower."""
    target = tmp_path_factory.mktemp("slow") / "model"
    test_features = trained / "data" / "processed" / "test_features.csv"
    python = trained / ".venv" / "bin" / "python"
    run([python, "-c", SLOW_MODEL, exported, target, test_features], cwd=trained, timeout=300)
    assert (target / "MLmodel").is_file()
    return target


@pytest.fixture(scope="module")
def canary_root(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root whose params.yaml is the project's with the test's canary settings."""
    root = tmp_path_factory.mktemp("canary-root")
    params = yaml.safe_load((trained / "params.yaml").read_text(encoding="utf-8"))
    params["canary"] = CANARY
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return root


@contextmanager
def _tracks(
    project: Path, stable_model: Path, canary_model: Path, directory: Path
) -> Iterator[tuple[dict[str, Service], Prometheus]]:
    """The two services (metrics on their own ports) and a Prometheus that scrapes both."""
    with ExitStack() as stack:
        services, targets = {}, []
        for track, model in (("stable", stable_model), ("canary", canary_model)):
            metrics_port = free_port()
            env = {"MODEL_DIR": str(model), "METRICS_PORT": str(metrics_port)}
            services[track] = stack.enter_context(_service(project, env | {"SERVE_DOCS": "false"}))
            targets.append({"targets": [f"127.0.0.1:{metrics_port}"], "labels": {"track": track}})
            assert _status(services[track].url + "/metrics") == 404, "metrics left the main port"
        config = {
            "global": {"scrape_interval": "1s"},
            "scrape_configs": [{"job_name": SLUG, "static_configs": targets}],
        }
        prometheus = launch_prometheus(directory, config)
        stack.callback(stop_group, prometheus.process, 20.0)
        yield services, prometheus


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def _drive(services: dict[str, Service], rows: list[dict[str, float]]) -> int:
    """One-record requests to each track in turn for DRIVE_SECONDS; the number sent to each."""
    sent = 0
    deadline = time.monotonic() + DRIVE_SECONDS
    while time.monotonic() < deadline:
        body: dict[str, Any] = {"records": [rows[sent % len(rows)]]}
        for service in services.values():
            status, answer = service.post("/predict", body)
            assert status == 200, answer
        sent += 1
    time.sleep(SCRAPED_WITHIN)
    return sent


def _canary_check(project: Path, prometheus: Prometheus, root: Path) -> tuple[int, str]:
    """`make canary-check`: the module's exit status (make names a failed recipe's status,
    `Error 3`, and exits 2 itself; reports/canary/check.json holds it for the next step) and
    its one line on stdout."""
    env = {"PROMETHEUS_URL": prometheus.url, ROOT_VARIABLE: str(root)}
    done = run(["make", "canary-check"], cwd=project, env=env, check=False, timeout=120)
    failed = re.search(r"\[\S*: canary-check\] Error (\d+)$", done.stderr, re.MULTILINE)
    status = int(failed[1]) if failed else done.returncode
    assert (done.returncode, status) == (0, 0) or (done.returncode, bool(failed)) == (2, True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("canary-check: ")]
    assert len(lines) == 1, done.stdout + done.stderr
    recorded = json.loads((root / "reports" / "canary" / "check.json").read_text("utf-8"))
    assert (recorded["status"], f"canary-check: {recorded['line']}") == (status, lines[0])
    return status, lines[0]


def _canary_wait_without_data(
    project: Path, prometheus: Prometheus, root: Path, tmp_path: Path
) -> None:
    """`make canary-wait` (cd.yml's check job) before any traffic: two checks, each not enough
    data yet, then exit 0 with status 4 for the workflow's next jobs."""
    outputs = tmp_path / "github-output"
    env = {
        "PROMETHEUS_URL": prometheus.url,
        ROOT_VARIABLE: str(root),
        "GITHUB_OUTPUT": str(outputs),
    }
    settings = ["CANARY_CHECKS=2", "CANARY_CHECK_INTERVAL=1"]
    done = run(["make", "canary-wait", *settings], cwd=project, env=env, timeout=180)
    lines = [line for line in done.stdout.splitlines() if line.startswith("canary-")]
    assert len(lines) == 4, done.stdout
    assert all("not enough data yet: 0 canary and 0 stable steps" in line for line in lines[::2])
    assert lines[1] == "canary-wait: no verdict yet (1 of 2): next check in 1 s"
    assert lines[3].startswith("canary-wait: no verdict after 2 checks")
    assert outputs.read_text(encoding="utf-8") == "status=4\n"
    recorded = json.loads((root / "reports" / "canary" / "check.json").read_text("utf-8"))
    assert recorded["status"] == 4


def test_healthy_canary_waits_for_data_then_is_promoted(
    trained: Path,
    exported: Path,
    canary_root: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    with _tracks(trained, exported, exported, tmp_path) as (services, prometheus):
        _canary_wait_without_data(trained, prometheus, canary_root, tmp_path)
        sent = _drive(services, held_back[0])
        status, line = _canary_check(trained, prometheus, canary_root)
    record_property("verdict", line)  # the figures, in a --junitxml report
    assert status == 0, f"{line} ({sent} requests per track)"
    assert line.startswith("canary-check: promote: error ratio canary 0.0000 vs stable 0.0000")
    assert all(service.exit_status == 0 for service in services.values())


def test_slow_canary_is_aborted(
    trained: Path,
    exported: Path,
    slow_model: Path,
    canary_root: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    with _tracks(trained, exported, slow_model, tmp_path) as (services, prometheus):
        slow_answer = services["canary"].post("/predict", {"records": held_back[0][:3]})[1]
        fast_answer = services["stable"].post("/predict", {"records": held_back[0][:3]})[1]
        assert [p["probability"] for p in slow_answer["predictions"]] == pytest.approx(
            [p["probability"] for p in fast_answer["predictions"]], abs=1e-9
        ), "the slow canary answers as the champion does"
        sent = _drive(services, held_back[0])
        status, line = _canary_check(trained, prometheus, canary_root)
    record_property("verdict", line)
    assert status == 3, f"{line} ({sent} requests per track)"
    assert line.startswith("canary-check: abort: ")
    latency = re.search(r"latency canary ([0-9.]+) ms vs stable ([0-9.]+) ms", line)
    assert latency, line
    assert float(latency[1]) > float(latency[2]) + 15, "20 ms of sleep per request"
