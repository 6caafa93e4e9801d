"""The team setup, for real: the generated project against an MLflow server on PostgreSQL.

A real PostgreSQL 16 (the pgserver wheel's binaries) and a real `mlflow server` run on
127.0.0.1; the project gets nothing but ``MLFLOW_TRACKING_URI`` and the store's variables its
users would set. The store is moto's server mode, standing in for S3: an S3 API, not a storage
service; boto3, MLflow and dvc-s3 talking to it are real. One test runs the whole story (a
second server with a local artifacts directory would add minutes of CI and no client path).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.team_stack import (
    S3_ENV,
    Postgres,
    TrackingServer,
    postgres,
    s3_stand_in,
    server_venv,
    tracking_server,
)
from tests.support import commit_all, free_port, run, scaffold, stop_group
from tests.team_docs import fenced, runnable, team_section

pytestmark = pytest.mark.e2e

MODEL = "heart-disease-risk"
BUCKET = "team-store"
READY_WITHIN = 120.0  # seconds for `make serve` to load the champion through the server
# Set by the shell or by other tests; the project must get only what each test gives it.
FOREIGN = ("MLFLOW_", "AWS_", "MODEL_DIR", "MODEL_URI")


def _figure(name: str, seconds: float) -> None:
    """Print a measured duration (shown with `pytest -s` or in the -rP summary)."""
    print(f"team-server figure: {name} {seconds:.1f} s", file=sys.stderr)


@pytest.fixture(autouse=True)
def only_given_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MLflow, AWS or model setting of the caller's environment reaches the project."""
    for name in list(os.environ):
        if name.startswith(FOREIGN):
            monkeypatch.delenv(name)


@pytest.fixture
def database() -> Iterator[Postgres]:
    """A PostgreSQL of the test's own, stopped and deleted afterwards."""
    with postgres() as server:
        _figure("postgres initdb and start", server.started_in)
        yield server


@pytest.fixture
def s3_endpoint(tmp_path: Path) -> Iterator[str]:
    """moto's S3 API (the stand-in for S3) with the team's bucket; its endpoint URL."""
    with s3_stand_in(tmp_path / "moto.log") as endpoint:
        boto3.client("s3", endpoint_url=endpoint, **_boto_credentials()).create_bucket(
            Bucket=BUCKET
        )
        yield endpoint


def _locked_mlflow(project: Path) -> str:
    """The mlflow version in the project's uv.lock: the server runs the same."""
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    return str(next(p["version"] for p in lock["package"] if p["name"] == "mlflow"))


def _new_project(where: Path, *answers: str) -> Path:
    """`scaffold new` with the defaults and `answers`, installed with `make install`."""
    created = scaffold("new", "-q", "proj", "--defaults", *answers, cwd=where)
    assert created.returncode == 0, created.stderr
    project = where / "proj"
    run(["make", "install"], cwd=project)
    return project


def _registry(server: TrackingServer) -> dict[str, Any]:
    """The registered model's versions and aliases, asked of the server's REST API."""
    query = urllib.parse.urlencode({"name": MODEL})
    url = f"{server.url}/api/2.0/mlflow/registered-models/get?{query}"
    with urllib.request.urlopen(url, timeout=30) as response:
        model = json.load(response)["registered_model"]
    found = urllib.parse.urlencode({"filter": f"name='{MODEL}'"})
    url = f"{server.url}/api/2.0/mlflow/model-versions/search?{found}"
    with urllib.request.urlopen(url, timeout=30) as response:
        versions = json.load(response)["model_versions"]
    return {
        "versions": sorted(int(v["version"]) for v in versions),
        "aliases": {a["alias"]: a["version"] for a in model.get("aliases", [])},
        "sources": {v["version"]: v["source"] for v in versions},
    }


def _repro(project: Path, env: Mapping[str, str], label: str) -> dict[str, Any]:
    """`make repro` through the server; the gate's verdict (reports/promotion.json)."""
    start = time.monotonic()
    done = run(["make", "repro"], cwd=project, env=env, timeout=900)
    _figure(f"make repro ({label})", time.monotonic() - start)
    assert f"logged to {env['MLFLOW_TRACKING_URI']}" in done.stdout + done.stderr
    verdict: dict[str, Any] = json.loads((project / "reports/promotion.json").read_text())
    return verdict


def _one_record(project: Path) -> dict[str, float]:
    """The first held-back row's features."""
    with (project / "data/processed/test_features.csv").open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    return {name: float(value) for name, value in row.items() if name != "id"}


def _serve_once(project: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """`make serve` (the champion from the registry), one /predict, stopped; the answer."""
    port = free_port()
    process = subprocess.Popen(
        ["make", "serve", f"SERVE_PORT={port}"],
        cwd=project,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"make serve not ready in {READY_WITHIN} s"
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        body = json.dumps({"records": [_one_record(project)]}).encode()
        request = urllib.request.Request(
            f"{url}/predict", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.load(response)
    finally:
        assert stop_group(process), "make serve outlived SIGTERM to its process group"
    return answer


def _change_a_param(project: Path) -> None:
    """A weaker regularisation: retrains and re-evaluates, nothing else."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "    C: 1.0\n" in text
    params.write_text(text.replace("    C: 1.0\n", "    C: 0.05\n"), encoding="utf-8")


def test_the_team_setup_through_a_postgres_backed_server(
    database: Postgres, s3_endpoint: str, tmp_path: Path
) -> None:
    """The README's team setup, its shell blocks run as written, then serving and a second
    version: the project logs, registers, promotes and serves through the server, MLflow's
    artifacts and the DVC remote share one S3 API, and nothing is stored in the project."""
    project = _new_project(
        tmp_path, "-d", "dvc_remote=s3", "-d", f"dvc_remote_url=s3://{BUCKET}/dvc"
    )
    section = team_section((project / "README.md").read_text(encoding="utf-8"))
    mine, teammates = runnable(fenced(section, "sh"))  # every other block is marked
    assert mine.startswith("make repro push") and teammates.startswith("make pull verify")

    start = time.monotonic()
    venv = server_venv(tmp_path / "server-venv", _locked_mlflow(project))
    _figure("tracking server venv", time.monotonic() - start)
    backend = database.create_database("team")
    store_env = {**S3_ENV, "AWS_ENDPOINT_URL": s3_endpoint}
    store = f"s3://{BUCKET}/mlflow"
    with tracking_server(venv, backend, store, tmp_path / "mlflow.log", store_env) as server:
        _figure("mlflow server ready", server.ready_in)
        env = {"MLFLOW_TRACKING_URI": server.url, **store_env}
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, **_boto_credentials())

        _run_block(mine, project, env, "the README's `make repro push`")
        first = json.loads((project / "reports/promotion.json").read_text(encoding="utf-8"))
        assert first["candidate"]["version"] == "1" and first["promoted"], first
        assert _registry(server)["aliases"] == {"champion": "1"}
        assert any(key.endswith("/MLmodel") for key in _keys(s3, "mlflow/"))
        assert _keys(s3, "dvc/files/md5/"), "dvc push stored nothing"
        assert not (project / "mlflow.db").exists() and not (project / "mlartifacts").exists()

        start = time.monotonic()
        answer = _serve_once(project, env)
        _figure("make serve: ready, one /predict, stopped", time.monotonic() - start)
        assert answer["model"]["version"] == "1", answer
        assert 0.0 <= answer["predictions"][0]["probability"] <= 1.0

        commit_all(project, "first run through the team server, pushed")
        clone = tmp_path / "teammate"
        run(["git", "clone", "--quiet", project, clone], cwd=tmp_path)
        done = _run_block(teammates, clone, env, "the README's `make pull verify`, a fresh clone")
        assert re.search(r"verify: \d+ predictions matched", done.stdout), done.stdout
        for pulled in ("data/raw/heart.csv", "data/processed/test_features.csv"):
            assert (clone / pulled).read_bytes() == (project / pulled).read_bytes(), pulled

        _change_a_param(project)
        second = _repro(project, env, "after a params change")
        registry = _registry(server)
        print(f"team-server registry: {json.dumps(registry, indent=1)}", file=sys.stderr)
        assert second["candidate"]["version"] == "2", second
        assert registry["versions"] == [1, 2]
        assert registry["aliases"] == {"champion": second["alias_version"]}
        assert second["alias_version"] == ("2" if second["promoted"] else "1"), second

    # What the server wrote is in PostgreSQL itself, not in a file beside the project.
    rows = database.query(
        "team",
        "select version, coalesce(alias, '') from model_versions"
        " left join registered_model_aliases using (name, version) order by version",
    )
    print(f"team-server postgres rows: {rows}", file=sys.stderr)
    champion = second["alias_version"]
    assert rows == [[v, "champion" if v == champion else ""] for v in ("1", "2")]


def _run_block(
    block: str, cwd: Path, env: Mapping[str, str], label: str
) -> subprocess.CompletedProcess[str]:
    """Run a README shell block with bash, as a reader pasting it would."""
    start = time.monotonic()
    done = run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env, timeout=900)
    _figure(label, time.monotonic() - start)
    return done


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }


def _keys(s3: Any, prefix: str) -> list[str]:
    """Every object key under `prefix` in the bucket."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]
