"""E2E: the generated chart's alerts and dashboard against promtool, the real service and a real
Prometheus (Debian's `prometheus` package: `make prometheus` in the scaffolder installs it).

- `make alerts-test` in the generated project: promtool checks the rules rendered from the
  chart and runs their unit tests, which fail when a threshold moves;
- every metric that the alerts and the dashboard query is in the live service's /metrics;
- Prometheus scrapes the running service with the chart's rules loaded: the request counter is
  queryable, a latency alert fires under real load, and ModelNotLoaded once the service stops.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import promql_parser
import pytest
import yaml

from tests.e2e.test_serve import Service, _service
from tests.support import ALERTS, free_port, run, stop_group

pytestmark = pytest.mark.e2e

SLUG = "heart-disease-risk"
SELECTOR = f'namespace="{SLUG}", job="{SLUG}"'  # the alerts' default (release and namespace SLUG)
# Grafana's variables, replaced by values PromQL accepts before the queries are parsed.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1h", "$namespace": ".*", "$job": ".*"}
# The live test's settings, through the same values as a user's: short windows and `for`.
LIVE_ALERTS = {
    "latencyP99": {"thresholdSeconds": 0.001, "window": "10s", "for": "2s"},
    "modelNotLoaded": {"for": "1s"},
    "errorRatio": {"window": "10s", "for": "0s"},
}
WITHIN = 30.0  # seconds: bound of every wait on Prometheus


def _promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `make prometheus` (Debian: apt-get install prometheus)"
    return found


def _rules(chart: Path, values: dict[str, Any]) -> dict[str, Any]:
    """The PrometheusRule's spec, rendered by Helm's own code (release and namespace SLUG)."""
    values = {"monitoring": {"prometheusRule": {"enabled": True}, **values.get("monitoring", {})}}
    with helm_python.Chart.load(chart) as loaded:
        rendered = loaded.render(values, name=SLUG, namespace=SLUG, is_install=True)
    spec: dict[str, Any] = yaml.safe_load(rendered[f"{SLUG}/templates/prometheusrule.yaml"])["spec"]
    return spec


def _metric_names(expr: Any) -> set[str]:
    """The metric names an expression parsed by promql_parser selects."""
    if isinstance(expr, promql_parser.VectorSelector):
        return {expr.name} if expr.name else set()
    if isinstance(expr, promql_parser.MatrixSelector):
        return _metric_names(expr.vector_selector)
    children = list(getattr(expr, "args", None) or [])
    children += [getattr(expr, name, None) for name in ("expr", "lhs", "rhs", "param")]
    return set().union(*(_metric_names(child) for child in children if child is not None))


def _queried(query: str) -> set[str]:
    """The metrics a query of the rules or the dashboard (PromQL, or Grafana's label_values)
    selects."""
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    label_values = re.fullmatch(r"label_values\((.+), *\w+\)", query)
    return _metric_names(promql_parser.parse(label_values[1] if label_values else query))


# ── promtool on the rules, as the generated project runs it ─────────────────────────────────


def test_alerts_target_checks_and_unit_tests_the_rules(
    default_project: Path, helm_env: dict[str, str]
) -> None:
    env = {**helm_env, "PROMTOOL": _promtool()}
    out = default_project / "build" / "alerts"
    try:
        found = run(["make", "promtool"], cwd=default_project, env=env)  # CI's install step
        assert found.stdout.strip() == f"promtool: {env['PROMTOOL']}"
        done = run(["make", "alerts-test"], cwd=default_project, env=env)
        assert "SUCCESS: 6 rules found" in done.stdout
        for tests in ("alerts_test.yaml", "alerts_baseline_test.yaml"):
            assert re.search(rf"Unit Testing: +build/alerts/{tests}\n +SUCCESS", done.stdout)
        # The rules file is the PrometheusRule's spec, as Helm's library renders it.
        written = yaml.safe_load((out / "alerts.yaml").read_text(encoding="utf-8"))
        assert written == _rules(default_project / "charts" / SLUG, {})
        assert {rule["alert"] for rule in written["groups"][0]["rules"]} == ALERTS
    finally:
        shutil.rmtree(default_project / "build", ignore_errors=True)


def test_alert_unit_tests_fail_when_a_threshold_moves(
    default_project: Path, helm_env: dict[str, str], tmp_path: Path
) -> None:
    chart = tmp_path / SLUG
    shutil.copytree(default_project / "charts" / SLUG, chart)
    values = chart / "values.yaml"
    text = values.read_text(encoding="utf-8")
    assert "      threshold: 0.05\n" in text
    values.write_text(text.replace("      threshold: 0.05\n", "      threshold: 0.2\n"))
    failed = run(
        ["make", "alerts-test", f"CHART={chart}", f"ALERTS_OUT={tmp_path / 'out'}"],
        cwd=default_project,
        env={**helm_env, "PROMTOOL": _promtool()},
        check=False,
    )
    assert failed.returncode != 0
    assert "alertname: PredictErrorRatioHigh, time: 20m" in failed.stdout + failed.stderr


def test_alerts_target_says_how_to_get_promtool(
    default_project: Path, helm_env: dict[str, str], tmp_path: Path
) -> None:
    failed = run(
        ["make", "alerts-test", "PROMTOOL=no-such-promtool", f"ALERTS_OUT={tmp_path}"],
        cwd=default_project,
        env=helm_env,
        check=False,
    )
    assert failed.returncode != 0
    assert "apt-get install prometheus" in failed.stderr


def test_every_rendering_of_the_rules_passes_promtool_check(
    default_project: Path, tmp_path: Path
) -> None:
    """With an expected positive rate instead of the 7-day baseline, and with own labels."""
    chart = default_project / "charts" / SLUG
    all_on = yaml.safe_load((chart / "ci" / "all-on-values.yaml").read_text(encoding="utf-8"))
    for name, values in {"all-on": all_on, "live": {"monitoring": {"alerts": LIVE_ALERTS}}}.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(_rules(chart, values)))
        checked = run([_promtool(), "check", "rules", path], cwd=tmp_path)
        assert "SUCCESS: 6 rules found" in checked.stdout


# ── The live service and a real Prometheus ──────────────────────────────────────────────────


def _sample_names(exposition: str) -> set[str]:
    """The sample names in Prometheus' text format (http_requests_total, ..._bucket, ...)."""
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


def _batch(rows: list[dict[str, float]], size: int = 1000) -> dict[str, Any]:
    return {"records": (rows * (size // len(rows) + 1))[:size]}


def test_alerts_and_dashboard_query_only_metrics_the_service_exposes(
    trained: Path, exported: Path, held_back: tuple[list[dict[str, float]], list[float]]
) -> None:
    chart = trained / "charts" / SLUG
    rules = [rule["expr"] for rule in _rules(chart, {})["groups"][0]["rules"]]
    dashboard = json.loads((chart / "files" / "dashboard.json").read_text(encoding="utf-8"))
    panels = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    variables = [
        variable["query"]["query"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    ]
    used = {
        source: set().union(*(_queried(query) for query in queries))
        for source, queries in {"rules": rules, "dashboard": panels + variables}.items()
    }
    with _service(trained, {"MODEL_DIR": str(exported)}) as service:
        status, _ = service.post("/predict", _batch(held_back[0], 3))
        assert status == 200
        exposed = _sample_names(service.text("/metrics"))
    for source, names in used.items():
        assert len(names) >= 6, source
        assert names - exposed == set(), f"{source} query metrics /metrics does not have"
    telemetry = {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "predictions_total",
        "prediction_probability_bucket",
        "model_loaded",
        "model_info",
        "prediction_log_records_total",
        "prediction_log_dropped_total",
        "prediction_log_errors_total",
    }
    assert used["dashboard"] == telemetry, "the dashboard shows every metric of the service"


@dataclass
class Prometheus:
    """A Prometheus server on a loopback port."""

    url: str
    process: subprocess.Popen[str]

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self) -> dict[str, list[dict[str, Any]]]:
        """Active (pending or firing) alerts by name."""
        found: dict[str, list[dict[str, Any]]] = {}
        for alert in self.api("alerts")["alerts"]:
            found.setdefault(alert["labels"]["alertname"], []).append(alert)
        return found

    def wait(self, what: str, condition: Callable[[], Any], tick: Callable[[], None]) -> Any:
        """Call `tick` and poll `condition` until it is truthy; fail after WITHIN seconds."""
        deadline = time.monotonic() + WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited: {self.process.communicate()}")
            tick()
            result = condition()
            if result:
                return result
            time.sleep(0.25)
        pytest.fail(f"{what}: not within {WITHIN} s; active alerts: {self.alerts()}")


def launch_prometheus(directory: Path, config: dict[str, Any]) -> Prometheus:
    """Start Prometheus with ``config`` (its files and data in ``directory``) on a free loopback
    port; ready when returned. The caller stops it (``stop_group``)."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: `make prometheus` (Debian: apt-get install prometheus)"
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    server = Prometheus(f"http://127.0.0.1:{port}", process)
    try:
        server.wait("prometheus ready", lambda: _ready(server.url), lambda: None)
    except BaseException:
        stop_group(process, 20.0)
        raise
    return server


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[Service, dict[str, Any]], Prometheus]]:
    """Start Prometheus (1 s scrape and evaluation) on a service's /metrics with these rules."""
    started: list[subprocess.Popen[str]] = []

    def start(service: Service, rules: dict[str, Any]) -> Prometheus:
        (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(rules))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp_path / "alerts.yaml")],
            "scrape_configs": [
                {  # as the chart's ServiceMonitor labels the series: job and namespace
                    "job_name": SLUG,
                    "static_configs": [
                        {
                            "targets": [service.url.removeprefix("http://")],
                            "labels": {"namespace": SLUG},
                        }
                    ],
                }
            ],
        }
        server = launch_prometheus(tmp_path, config)
        started.append(server.process)
        return server

    yield start
    for process in started:
        if process.poll() is None:
            assert stop_group(process, 20.0), "prometheus did not stop within 20 s of SIGTERM"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_prometheus_scrapes_the_service_and_fires_its_alerts(
    trained: Path,
    exported: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
    prometheus_for: Callable[[Service, dict[str, Any]], Prometheus],
) -> None:
    rules = _rules(trained / "charts" / SLUG, {"monitoring": {"alerts": LIVE_ALERTS}})
    batch = _batch(held_back[0])
    sent = {"ok": 0, "bad": 0}
    with _service(trained, {"MODEL_DIR": str(exported)}) as service:
        prometheus = prometheus_for(service, rules)
        loaded = {group["name"]: group for group in prometheus.api("rules")["groups"]}
        assert {rule["name"] for group in loaded.values() for rule in group["rules"]} == ALERTS

        def load() -> None:  # large batches (slower than the 1 ms threshold) and a rejected one
            status, _ = service.post("/predict", batch)
            assert status == 200
            sent["ok"] += 1
            assert service.post("/predict", {"records": []})[0] == 422
            sent["bad"] += 1

        def counted() -> bool:
            query = f'sum(http_requests_total{{{SELECTOR}, endpoint="/predict"}})'
            result = prometheus.api("query", query=query)["result"]
            return bool(result) and float(result[0]["value"][1]) >= 3

        prometheus.wait("the request counter in Prometheus", counted, load)
        by_status = prometheus.api(
            "query", query=f'http_requests_total{{{SELECTOR}, endpoint="/predict"}}'
        )["result"]
        assert {series["metric"]["status"] for series in by_status} == {"200", "422"}
        assert all(series["metric"]["method"] == "POST" for series in by_status)
        firing = prometheus.wait(
            "PredictLatencyP99High firing",
            lambda: [
                alert
                for alert in prometheus.alerts().get("PredictLatencyP99High", [])
                if alert["state"] == "firing"
            ],
            load,
        )
        assert firing[0]["labels"]["namespace"] == SLUG
        assert float(firing[0]["value"]) > 0.001
        # Scraped, the model loaded: ModelNotLoaded (pending before the first scrape) is gone;
        # the rejected requests are 4xx, no errors.
        prometheus.wait(
            "ModelNotLoaded resolved", lambda: "ModelNotLoaded" not in prometheus.alerts(), load
        )
        assert "PredictErrorRatioHigh" not in prometheus.alerts()
        assert sent["ok"] > 0 and sent["bad"] > 0
    # The service stopped: its series go stale, absent(model_loaded) holds.
    assert service.exit_status == 0
    gone = prometheus.wait(
        "ModelNotLoaded firing",
        lambda: [
            alert
            for alert in prometheus.alerts().get("ModelNotLoaded", [])
            if alert["state"] == "firing"
        ],
        lambda: None,
    )
    assert gone[0]["labels"] == {
        "alertname": "ModelNotLoaded",
        "namespace": SLUG,
        "job": SLUG,
        "severity": "critical",
    }
