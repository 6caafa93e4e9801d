"""E2E: the generated project's helm targets, run with the official helm CLI.

The render tier checks the chart with Helm's Go library; this runs what CI runs, `make
helm-lint helm-template helm-package`, with the real `helm` binary that the scaffolder's
`make install` extracts into .venv/bin.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support import run

pytestmark = pytest.mark.e2e

SLUG = "heart-disease-risk"
# The Prometheus operator's and the Gateway API's groups, whose kinds are CRDs.
CUSTOM_GROUPS = {"monitoring.coreos.com", "gateway.networking.k8s.io"}


def _status(project: Path) -> str:
    return run(["git", "status", "--porcelain", "--ignored=no"], cwd=project).stdout


def test_helm_targets_lint_render_and_package(
    default_project: Path, helm_env: dict[str, str]
) -> None:
    before = _status(default_project)
    outputs = [default_project / "build" / "helm", default_project / "dist"]
    try:
        done = run(
            ["make", "helm-lint", "helm-template", "helm-package"],
            cwd=default_project,
            env=helm_env,
        )
        # The defaults, all-on and the two canary releases (ci/*-values.yaml).
        assert done.stdout.count("1 chart(s) linted, 0 chart(s) failed") == 4
        rendered = {
            path.stem: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
            for path in outputs[0].glob("*.yaml")
        }
        assert set(rendered) == {
            "default",
            "all-on-values",
            "canary-values",
            "canary-route-values",
        }
        kinds = {name: sorted(doc["kind"] for doc in docs) for name, docs in rendered.items()}
        assert "CronJob" not in kinds["default"]
        assert {"CronJob", "HorizontalPodAutoscaler", "Ingress"} <= set(kinds["all-on-values"])
        assert {"PrometheusRule", "ServiceMonitor"} <= set(kinds["all-on-values"])
        assert kinds["canary-values"].count("Deployment") == 2
        assert "HTTPRoute" in kinds["canary-route-values"]
        for docs in rendered.values():
            for doc in docs:
                assert doc["metadata"]["namespace"] == SLUG
                if doc["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
                    continue  # CRDs: not in Kubernetes' schemas (tests/render/test_chart.py)
                kubernetes_validate.validate(
                    doc, kubernetes_validate.utils.latest_version(), strict=True
                )
        assert (outputs[1] / f"{SLUG}-0.1.0.tgz").is_file()
        assert _status(default_project) == before, "build output must stay out of git"
    finally:
        for path in outputs:
            shutil.rmtree(path, ignore_errors=True)


def test_helm_lint_target_fails_on_a_broken_chart(
    default_project: Path, helm_env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / SLUG
    shutil.copytree(default_project / "charts" / SLUG, broken)
    values = broken / "values.yaml"
    values.write_text(values.read_text() + "replicas: 3\n")  # a typo the schema must catch
    failed = run(
        ["make", "helm-lint", f"CHART={broken}"], cwd=default_project, env=helm_env, check=False
    )
    assert failed.returncode != 0
    assert "additional properties 'replicas' not allowed" in failed.stdout + failed.stderr
