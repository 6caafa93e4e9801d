"""The Makefile targets the generated workflows call, run here the way the workflows run them.

A fresh clone plays the CI runner (its own venv, data from the DVC remote, an empty MLflow
store); a fresh home directory plays the template-update runner (an empty template mirror).
helm-push and deploy need a registry and a cluster: their command lines are checked with make's
dry run (`make -n`), which expands the recipe without running it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support import commit_all, copy_template_repo, run

pytestmark = pytest.mark.e2e


def test_ci_pipeline_and_retrain_steps_in_a_fresh_clone(trained: Path, tmp_path: Path) -> None:
    """ci.yml's pipeline job and retrain.yml: pull, forced repro, metrics, export, diff, push."""
    run(["make", "push"], cwd=trained)  # what the developer did before pushing the commit
    clone = tmp_path / "runner"
    run(["git", "clone", "--quiet", str(trained), str(clone)], cwd=tmp_path)
    assert not (clone / "mlflow.db").exists(), "the runner starts without a tracking store"

    run(["make", "pull"], cwd=clone, timeout=900)
    assert (clone / "data/raw/heart.csv").read_bytes() == (
        trained / "data/raw/heart.csv"
    ).read_bytes()
    forced = run(["make", "repro"], cwd=clone, env={"REPRO_FLAGS": "--force"}, timeout=900)
    assert "Running stage 'train'" in forced.stdout + forced.stderr
    assert "roc_auc" in run(["make", "metrics"], cwd=clone).stdout
    run(["make", "export-model"], cwd=clone)
    assert (clone / "models/serving/MLmodel").is_file(), "the image's model was not exported"

    diff_file = tmp_path / "metrics-diff.md"
    shown = run(["make", "metrics-diff", f"METRICS_DIFF={diff_file}"], cwd=clone).stdout
    body = diff_file.read_text(encoding="utf-8")
    assert body.strip() and body.strip() in shown
    assert "#### Metrics: HEAD → workspace" in body
    assert re.search(r"^\| reports/metrics\.json\s*\| roc_auc\s*\|", body, re.MULTILINE), body
    run(["make", "push"], cwd=clone)  # retrain.yml pushes the new artefacts before its PR


def test_helm_push_and_deploy_command_lines(default_project: Path) -> None:
    """Dry runs: no registry or cluster here, so check what make would execute."""
    settings = ["CHART_VERSION=1.2.3", "IMAGE_TAG=1.2.3", "IMAGE_DIGEST=sha256:" + "a" * 64]
    env = {"KUBE_CONFIG": "apiVersion: v1\n", "HELM_REGISTRY_PASSWORD": "x"}
    pushed = run(["make", "-n", "helm-push", *settings], cwd=default_project, env=env).stdout
    chart = "charts/heart-disease-risk"
    assert f"helm package {chart} --version 1.2.3 --app-version 1.2.3" in pushed
    assert "helm push dist/heart-disease-risk-1.2.3.tgz oci://ghcr.io/your-org/charts" in pushed
    assert "--password-stdin" in pushed
    deployed = run(["make", "-n", "deploy", *settings], cwd=default_project, env=env).stdout
    command = " ".join(deployed.replace("\\\n", " ").split())
    for part in (
        "helm upgrade --install heart-disease-risk",
        "oci://ghcr.io/your-org/charts/heart-disease-risk --version 1.2.3",
        "--namespace heart-disease-risk --create-namespace",
        "--set image.tag=1.2.3",
        "--set image.digest=sha256:" + "a" * 64,
        "--atomic --wait --timeout 10m",
    ):
        assert part in command, part
    assert 'printf \'%s\\n\' "$KUBE_CONFIG" > "$KUBECONFIG"' in deployed


def test_canary_command_lines_as_cd_runs_them(default_project: Path) -> None:
    """cd.yml's canary jobs, dry runs: each writes KUBE_CONFIG to a private KUBECONFIG, then
    runs its `helm upgrade --reuse-values --atomic`; the promotion moves the alias last."""
    env = {
        "KUBE_CONFIG": "apiVersion: v1\n",
        "HELM_REGISTRY_PASSWORD": "x",
        "CHART_VERSION": "1.2.0",
        "CANARY_TAG": "1.3.0",
        "CANARY_MODEL": "4",
        "CANARY_WEIGHT": "10",
    }
    upgrade = (
        "helm upgrade heart-disease-risk oci://ghcr.io/your-org/charts/heart-disease-risk "
        "--version 1.2.0 --namespace heart-disease-risk --reuse-values"
    )
    for dry_run, part in (
        (["make", "-n", "canary-deploy"], "--set canary.enabled=true --set canary.weight=10"),
        (["make", "-n", "canary-promote"], "--set-string model.uri=models:/heart-disease-risk/4"),
        (["make", "-n", "canary-abort"], "--set canary.enabled=false --atomic"),
    ):
        planned = run(dry_run, cwd=default_project, env=env).stdout
        command = " ".join(planned.replace("\\\n", " ").split())
        assert 'printf \'%s\\n\' "$KUBE_CONFIG" > "$KUBECONFIG"' in planned, dry_run
        assert upgrade in command and part in command, dry_run
    promoted = run(["make", "-n", "canary-promote"], cwd=default_project, env=env).stdout
    assert promoted.rstrip().endswith("pipeline.aliases canary-promote '4'")


def _build_wheel(repo: Path, out: Path) -> Path:
    run(["uv", "build", "--wheel", "--quiet", "--out-dir", out], cwd=repo, timeout=600)
    (wheel,) = out.glob("mlops_scaffold-*.whl")
    return wheel


def test_template_update_on_a_runner_with_an_empty_mirror(tmp_path: Path) -> None:
    """template-update.yml on a fresh machine: the mirror gets the project's old version first."""
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH"
    uv_cache = run([uv, "cache", "dir"], cwd=tmp_path).stdout.strip()
    repo = copy_template_repo(tmp_path / "scaffolder", whole_project=True)
    run(["git", "tag", "v0.1.0"], cwd=repo)
    old_wheel = _build_wheel(repo, tmp_path / "dist1")

    # The developer's machine: scaffold 0.1.0 makes the project, the mirror under ~/.local/share.
    developer = {
        "HOME": str(tmp_path / "developer"),
        "SCAFFOLD_HOME": "",
        "XDG_DATA_HOME": "",
        "UV_CACHE_DIR": uv_cache,
    }
    venv = tmp_path / "scaffold-0.1.0"
    run([uv, "venv", "--quiet", venv], cwd=tmp_path)
    run([uv, "pip", "install", "--quiet", "--python", venv / "bin/python", old_wheel], cwd=tmp_path)
    remote = f"dvc_remote_url={tmp_path / 'dvc-remote'}"
    run(
        [venv / "bin/scaffold", "new", "-q", "proj", "--defaults", "-d", remote],
        cwd=tmp_path,
        env=developer,
    )
    project = tmp_path / "proj"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "~/.local/share/mlops-scaffold/template"
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("line-length = 100", "line-length = 120"))
    commit_all(project, "the team prefers 120 columns")

    makefile = repo / "template" / "Makefile.jinja"
    makefile.write_text(makefile.read_text() + "\nwhats-new: ## Added in 0.2.0\n\t@echo new\n")
    source = repo / "template" / "pyproject.toml.jinja"
    source.write_text(source.read_text().replace("line-length = 100", "line-length = 110"))
    commit_all(repo, "template: whats-new, 110 columns", tag="v0.2.0")
    new_wheel = _build_wheel(repo, tmp_path / "dist2")

    # The runner: another home, so an empty mirror, as on a fresh GitHub-hosted machine.
    runner = {**developer, "HOME": str(tmp_path / "runner"), "GITHUB_OUTPUT": ""}
    outputs = tmp_path / "github-output"
    report = tmp_path / "template-update.md"
    pyproject.write_text(pyproject.read_text() + "\n")
    refused = run(["make", "template-update"], cwd=project, env=runner, check=False)
    assert refused.returncode != 0 and "commit your changes first" in refused.stderr
    run(["git", "checkout", "--", "pyproject.toml"], cwd=project)

    done = run(
        [
            "make",
            "template-update",
            f"SCAFFOLD_FROM={old_wheel}",
            f"SCAFFOLD_SPEC={new_wheel}",
            f"TEMPLATE_REPORT={report}",
        ],
        cwd=project,
        env={**runner, "GITHUB_OUTPUT": str(outputs)},
        timeout=900,
    )

    assert "Adding v0.1.0 to the template mirror" in done.stdout
    mirror = tmp_path / "runner/.local/share/mlops-scaffold/template"
    tags = run(["git", "tag", "--list"], cwd=mirror).stdout.split()
    assert {"v0.1.0", "v0.2.0"} <= set(tags)
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.2.0"
    assert "whats-new:" in (project / "Makefile").read_text()
    assert "<<<<<<<" in pyproject.read_text(), "the conflicting line must be marked inline"
    body = report.read_text(encoding="utf-8")
    assert "Template update v0.1.0 → v0.2.0" in body
    assert "**1 file(s) with conflicts**" in body
    assert "- pyproject.toml" in body
    assert "- Makefile" in body
    assert outputs.read_text().splitlines() == ["version=v0.2.0", "conflicts=1", "changed=true"]
