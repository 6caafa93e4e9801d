"""Render tier: the serving switch adds the service, its dependencies and its make targets."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.support import DEFAULT_PACKAGE, makefile_text, render

SERVICE_DEPENDENCIES = {
    "fastapi",
    "httptools",
    "numpy",
    "onnxruntime",
    "prometheus-client",
    "skl2onnx",
    "uvicorn",
    "uvloop",
}
# What a lean image installs to score an ONNX export (the `serve` dependency group): no training.
LEAN_SERVING = {
    "fastapi",
    "httptools",
    "numpy",
    "onnxruntime",
    "prometheus-client",
    "pydantic",
    "pydantic-settings",
    "pyyaml",
    "uvicorn",
    "uvloop",
}
SERVICE_TARGETS = {"serve", "export-model"}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0] for requirement in requirements}


def _targets(makefile: str) -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))


@pytest.fixture(scope="module", params=[True, False], ids=["serving", "no-serving"])
def serving(request: pytest.FixtureRequest) -> bool:
    """The switch each test's project was rendered with."""
    return bool(request.param)


@pytest.fixture(scope="module")
def project(serving: bool, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("serving")
    return render(dest, serving=serving, docker=serving, helm=serving)


def test_service_code_only_with_serving(project: Path, serving: bool) -> None:
    package = project / "src" / DEFAULT_PACKAGE
    service_code = sorted(
        path.relative_to(project).as_posix()
        for path in [*package.rglob("*.py"), *(project / "tests").rglob("*.py")]
        if "serve" in path.relative_to(project).parts
        or re.search(r"\b(fastapi|uvicorn|prometheus_client)\b", path.read_text(encoding="utf-8"))
    )
    if serving:
        assert f"src/{DEFAULT_PACKAGE}/serve/app.py" in service_code
        assert "tests/serve/test_api.py" in service_code
    else:
        assert service_code == []


def test_dependencies_follow_serving(project: Path, serving: bool) -> None:
    """The service's runtime, its `serve` group (for a lean image) and its test client."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = _names(pyproject["project"]["dependencies"])
    dev = _names(pyproject["dependency-groups"]["dev"])
    assert {"pydantic", "pydantic-settings"} <= runtime  # params.py, settings.py: always
    if serving:
        assert runtime >= SERVICE_DEPENDENCIES
        assert "httpx2" in dev
        # The `serve` group: exactly the lean serving runtime, each pinned as the project pins it.
        group = pyproject["dependency-groups"]["serve"]
        assert _names(group) == LEAN_SERVING
        assert set(group) <= set(pyproject["project"]["dependencies"])
    else:
        assert not runtime & (SERVICE_DEPENDENCIES - {"numpy"})
        assert "httpx2" not in dev
        assert "serve" not in pyproject["dependency-groups"]


def test_make_targets_follow_serving(project: Path, serving: bool) -> None:
    makefile = makefile_text(project)
    targets = _targets(makefile)
    if serving:
        assert targets >= SERVICE_TARGETS
        assert re.search(r"^serve: .*## ", makefile, flags=re.MULTILINE)
        assert "-m $(PACKAGE).serve --host 127.0.0.1 --port $(SERVE_PORT)" in makefile
        assert "PREDICTION_LOG_DIR ?= logs/predictions" in makefile
    else:
        assert not targets & SERVICE_TARGETS
        assert "SERVE_PORT" not in makefile
        assert ".serve" not in makefile


def test_exported_model_and_prediction_log_are_not_committed(project: Path) -> None:
    """models/serving/ (make export-model) is a copy of the registry's, logs/ the service's
    prediction log (make serve): git ignores both."""
    ignored = (project / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"models/serving/", "/logs/"} <= set(ignored)


def test_serving_page_arrives_with_serving(project: Path, serving: bool) -> None:
    """The service is documented on its own page (the README is the user's after creation)."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    index = (project / "docs" / "features.md").read_text(encoding="utf-8")
    assert "make serve" not in readme
    assert ("make serve" in index) == serving
    assert (project / "docs" / "serving.md").is_file() == serving
