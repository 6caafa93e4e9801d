"""Render tier: every combination in the option matrix renders exactly the expected files."""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import (
    BIN,
    REPO_ROOT,
    expected_files,
    files_under,
    load_structured,
    option_matrix,
    render,
    run,
    walk_text_files,
    windows_problem,
)

MATRIX = option_matrix()
JINJA_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}")
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")  # ${{ ... }} in workflows is GitHub's own
# yamllint's defaults, but lines up to 120 characters, GitHub's `on:` key (a YAML 1.1 truthy)
# and one space before the version comment of a pinned action (`@<sha> # v7.0.1`).
YAMLLINT_CONFIG = (
    "{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false},"
    " document-start: disable, comments: {min-spaces-from-content: 1}}}"
)


def _id(combo: dict[str, Any]) -> str:
    switches = "".join(name[0] for name, on in combo.items() if on is True)  # s d h c
    return "-".join([*(value for value in combo.values() if isinstance(value, str)), switches])


def _is_go_template(path: Path, project: Path) -> bool:
    """Helm chart templates are Go templates: `{{ }}` there is meant to stay; so are the
    legends (`{{endpoint}}`) of the chart's Grafana dashboard."""
    parts = path.relative_to(project).parts
    return parts[0] == "charts" and (
        "templates" in parts or parts[-2:] == ("files", "dashboard.json")
    )


def _is_report_template(path: Path, project: Path) -> bool:
    """The monitoring and experiment pages' templates (`monitoring/templates/*.html.j2`): the
    generated project renders them with Jinja at run time, so copier copies them verbatim,
    braces and all."""
    parts = path.relative_to(project).parts
    return (
        parts[0] == "src"
        and parts[-3:-1] == ("monitoring", "templates")
        and path.name.endswith(".html.j2")
    )


@pytest.fixture(scope="module", params=MATRIX, ids=_id)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = dict(request.param)
    dest = tmp_path_factory.mktemp("render")
    render(dest, **answers)
    return dest


def test_exact_file_set(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert files_under(project) == expected_files(answers)


def test_no_jinja_left(project: Path) -> None:
    leftovers = [
        path.relative_to(project).as_posix()
        for path in walk_text_files(project)
        if not _is_go_template(path, project)
        and not _is_report_template(path, project)
        and JINJA_LEFTOVER.search(GITHUB_EXPRESSION.sub("", path.read_text(encoding="utf-8")))
    ]
    assert leftovers == []


def test_report_template_is_copied_verbatim(project: Path) -> None:
    """The files exempt from the check above are the template's own pages, byte for byte."""
    source = REPO_ROOT / "template/src/{{ package_name }}/monitoring/templates"
    exempt = {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in walk_text_files(project)
        if _is_report_template(path, project)
    }
    package = yaml.safe_load((project / ".copier-answers.yml").read_text())["package_name"]
    assert exempt == {
        f"src/{package}/monitoring/templates/{path.name}": path.read_bytes()
        for path in source.glob("*.html.j2")
    }
    assert all(JINJA_LEFTOVER.search(text.decode("utf-8")) for text in exempt.values())


def test_structured_files_parse(project: Path) -> None:
    """Every TOML, YAML and JSON file parses to a non-empty mapping (YAML: every document)."""
    parsed = {
        path.relative_to(project).as_posix(): load_structured(path)
        for path in walk_text_files(project)
        if path.suffix in {".toml", ".yml", ".yaml", ".json"}
        and not _is_go_template(path, project)  # YAML only once Helm renders it
    }
    documents = {
        name: content if isinstance(content, list) else [content]
        for name, content in parsed.items()
    }
    empty = [
        name
        for name, docs in documents.items()
        if not docs or not all(isinstance(doc, dict) and doc for doc in docs)
    ]
    assert empty == []
    answers = parsed[".copier-answers.yml"][0]
    assert parsed["pyproject.toml"]["project"]["name"] == answers["project_slug"]
    assert list(parsed["dvc.yaml"][0]["stages"]) == ["prepare", "validate", "train", "evaluate"]
    assert answers["_commit"] and answers["_src_path"]


def test_file_names_legal_on_windows(project: Path) -> None:
    problems = {name: windows_problem(name) for name in files_under(project)}
    assert {name: why for name, why in problems.items() if why} == {}


def test_answers_drive_the_output(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    pyproject = load_structured(project / "pyproject.toml")
    assert pyproject["project"]["name"] == answers["project_slug"]
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    licence = (project / "LICENSE").read_text()
    marker = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "Redistribution and use in source and binary forms",
        "proprietary": "All rights reserved",
    }[answers["license"]]
    assert marker in licence
    makefile = (project / "Makefile").read_text()
    installs_with_uv = "$(UV) sync --locked" in makefile
    installs_hashed_pins = "--require-hashes --no-deps -r $(REQUIREMENTS_LOCK)" in makefile
    assert installs_with_uv == (answers["installer"] == "uv") != installs_hashed_pins


def test_reserved_names_cover_keywords_and_stdlib() -> None:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    reserved = set(config["reserved_package_names"]["default"])
    public_stdlib = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    lowercase_keywords = {word for word in keyword.kwlist if word.islower()}
    missing = (public_stdlib - {"cProfile"}) | lowercase_keywords | {"match", "case"}
    assert missing - reserved == set()


def test_python_is_lint_clean_formatted_and_compiles(project: Path) -> None:
    """copier-uv's rule, for every combination: the output is already formatted and lint-clean.

    ruff reads the generated pyproject.toml (its rules and target version); py_compile checks
    the syntax under this interpreter.
    """
    sources = ["src", "tests", "tools"]
    checked = run([BIN / "ruff", "check", "--no-cache", *sources], cwd=project, check=False)
    assert checked.returncode == 0, checked.stdout
    formatted = run(
        [BIN / "ruff", "format", "--check", "--no-cache", *sources], cwd=project, check=False
    )
    assert formatted.returncode == 0, formatted.stdout
    for path in sorted(project.rglob("*.py")):
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)


def test_yaml_passes_yamllint(project: Path) -> None:
    """Every YAML file but Helm's Go templates (linted once rendered, in test_chart)."""
    files = [
        path.relative_to(project).as_posix()
        for path in walk_text_files(project)
        if path.suffix in {".yml", ".yaml"} and not _is_go_template(path, project)
    ]
    assert files
    linted = run(
        [BIN / "yamllint", "--strict", "-d", YAMLLINT_CONFIG, *files], cwd=project, check=False
    )
    assert linted.returncode == 0, linted.stdout


def test_readme_layout_lists_every_module(project: Path) -> None:
    """The layout sections name every module of the package and every layer.

    The README's names the layers; a feature's modules are listed on its own page
    (docs/serving.md), which arrives and leaves with the feature.
    """
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    package = project / "src" / answers["package_name"]
    pages = [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    layout = "".join(
        text[text.index("## Layout") :].split("\n## ", 1)[0]
        for text in (page.read_text(encoding="utf-8") for page in pages)
        if "## Layout" in text
    )
    modules = {path.name for path in package.rglob("*.py") if path.name != "__init__.py"}
    layers = {f"{path.name}/" for path in package.iterdir() if path.is_dir()}
    assert sorted(name for name in modules | layers if name not in layout) == []


def test_only_files_with_jinja_carry_the_jinja_suffix() -> None:
    """A `.jinja` suffix says "rendered"; a file without Jinja is copied as it is, and named so."""
    template = REPO_ROOT / "template"
    needless = [
        path.relative_to(template).as_posix()
        for path in template.rglob("*.jinja")
        if not re.search(r"\{\{|\{%", path.read_text(encoding="utf-8"))
    ]
    assert needless == []
