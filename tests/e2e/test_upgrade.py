"""Upgrades across real versions: a project made by an older commit of this repository's
template, edited as a team would edit it, brought to this checkout by `scaffold apply`.

The older version is a real commit of main (`OLDER`), not a synthetic change: between the
two lie many template changes (typed params, ONNX serving, the lean image, feature pages…).
The project's tests run on the update branch through `--verify`, in a clean clone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from scaffold.locking import uv_binary
from tests.support import DEFAULT_PACKAGE, REPO_ROOT, commit_all, run, scaffold

pytestmark = pytest.mark.e2e

# An earlier landing of main, two sessions back (its template differs from today's in 65
# files). Move it forward now and then, to a commit users really generated projects from.
OLDER = "d6827d0"
MODULE = f"src/{DEFAULT_PACKAGE}/cohorts.py"
SCHEMA = f"src/{DEFAULT_PACKAGE}/core/schema.py"
CONTRACT = "data/contract.yaml"
TEMPLATE_AGE = '"age": (0, 120),'
TEAM_AGE = '"age": (18, 120),'

TEST = "tests/test_cohorts.py"
NOTE = "Our clinic's notes: this paragraph was written by the team.\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository tagged `older` (OLDER) and `newer` (this checkout).

    `newer` commits the working tree's template on top, so uncommitted changes are tested.
    """
    dest = tmp_path_factory.mktemp("history") / "template"
    known = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{OLDER}^{{commit}}"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    assert known.returncode == 0, f"{OLDER} is not in this clone: the test needs main's history"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(dest)], cwd=dest.parent)
    run(["git", "tag", "older", OLDER], cwd=dest)
    for name in ("copier.yml", "includes", "template"):
        target = dest / name
        if target.is_dir():
            shutil.rmtree(target)
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    commit_all(dest, "this checkout's template", tag="newer")
    return dest


def _team_edits(project: Path) -> None:
    """A new module with its test, a tuned parameter, an extra dependency, a README note."""
    (project / MODULE).write_text(
        '"""Age bands for the clinic\'s reports."""\n\n\n'
        "def age_band(age: float) -> str:\n"
        '    """The decade of life, e.g. 63 -> "60s"."""\n'
        '    return f"{int(age) // 10 * 10}s"\n',
        encoding="utf-8",
    )
    (project / TEST).write_text(
        f'"""The clinic\'s age bands."""\n\nfrom {DEFAULT_PACKAGE}.cohorts import age_band\n\n\n'
        "def test_age_band() -> None:\n"
        '    assert age_band(63) == "60s"\n',
        encoding="utf-8",
    )
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "    C: 1.0\n" in text
    params.write_text(text.replace("    C: 1.0\n", "    C: 0.5\n"), encoding="utf-8")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    anchor = "dependencies = [\n"
    pyproject.write_text(text.replace(anchor, anchor + '    "humanize>=4.9",\n', 1))
    uv = uv_binary()
    assert uv is not None
    run([uv, "lock", "--quiet"], cwd=project)  # what `make lock` does
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("\n## ", f"\n{NOTE}\n## ", 1), encoding="utf-8")
    commit_all(project, "the team's edits")


def _older_project(template: Path, tmp_path: Path) -> Path:
    """A project made by the template at OLDER."""
    project = tmp_path / "clinic"
    created = scaffold(
        "new", "-q", project, "--defaults", "--template", template, "--vcs-ref", "older",
        "-d", f"dvc_remote_url={tmp_path / 'remote'}",
        cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return project


def _old_schema(template: Path) -> dict[str, Any]:
    """The constants of OLDER's schema module (plain Python literals then)."""
    source = subprocess.run(
        ["git", "show", "older:template/src/{{ package_name }}/core/schema.py"],
        cwd=template,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    constants: dict[str, Any] = {}
    exec(compile(source, SCHEMA, "exec"), constants)  # our own older commit
    return constants


def _contract_as_old_schema(text: str) -> dict[str, Any]:
    """The contract's columns in the shape of OLDER's schema constants."""
    columns = yaml.safe_load(text)["columns"]
    features = [name for name, column in columns.items() if column["role"] == "feature"]
    return {
        "ID": next(name for name, column in columns.items() if column["role"] == "id"),
        "RAW_TARGET": next(name for name, column in columns.items() if column["role"] == "target"),
        "FEATURES": tuple(features),
        "NUMERIC_RANGES": {
            name: tuple(columns[name]["range"])
            for name in features
            if columns[name]["kind"] == "numeric"
        },
        "CATEGORY_CODES": {  # a boolean column is written 0 or 1
            name: tuple(columns[name].get("categories") or (0, 1))
            for name in features
            if columns[name]["kind"] in ("categorical", "boolean")
        },
    }


def test_a_project_of_an_older_version_upgrades_with_its_edits_and_stays_green(
    template: Path, tmp_path: Path
) -> None:
    project = _older_project(template, tmp_path)
    _team_edits(project)
    edited = {name: (project / name).read_bytes() for name in (MODULE, TEST, "README.md")}

    done = scaffold(
        "apply", "--to", "newer", "--format", "json", "--out", tmp_path / "out",
        "--verify", "make install test", project,
        cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)["repos"]
    assert result["outcome"] == "applied", result
    kinds = {entry["path"]: entry["kind"] for entry in result["files"]}
    assert [name for name, kind in kinds.items() if kind == "conflict"] == []
    assert kinds["pyproject.toml"] == "merged"  # the team's dependency, the template's changes
    assert kinds["uv.lock"] == "relocked"
    assert result["verify"]["ok"], result["verify"]["tail"]
    branch = result["branch"]

    def on_branch(name: str) -> bytes:
        shown = subprocess.run(
            ["git", "show", f"{branch}:{name}"], cwd=project, capture_output=True, check=True
        )
        return shown.stdout

    for name, content in edited.items():
        assert on_branch(name) == content, f"{name}: the team's edit must survive"
    # Files both sides changed hold both: the team's value, the template's new comments.
    assert kinds["params.yaml"] == "merged"
    newer_params = jinja2.Template(
        (template / "template" / "params.yaml.jinja").read_text(encoding="utf-8"),
        keep_trailing_newline=True,
    ).render(dataset="", task="binary")
    assert on_branch("params.yaml").decode() == newer_params.replace("    C: 1.0\n", "    C: 0.5\n")
    assert b'"humanize>=4.9"' in on_branch("pyproject.toml")
    assert b'name = "humanize"' in on_branch("uv.lock")
    assert b"_commit: newer\n" in on_branch(".copier-answers.yml")
    # The schema became the data contract: the same columns, ranges and codes.
    old = _old_schema(template)
    contract = _contract_as_old_schema(on_branch(CONTRACT).decode())
    assert contract == {name: old[name] for name in contract}
    # The update arrived: files the older template did not have.
    assert on_branch(f"src/{DEFAULT_PACKAGE}/params.py")
    assert on_branch("docs/features.md")


def test_an_edited_schema_module_is_one_conflict_that_keeps_the_edit(
    template: Path, tmp_path: Path
) -> None:
    """A team that narrowed a range in OLDER's schema module (now a loader of the contract)
    gets that one file as a conflict holding its edit, never a silent loss."""
    project = _older_project(template, tmp_path)
    schema = project / SCHEMA
    text = schema.read_text(encoding="utf-8")
    assert TEMPLATE_AGE in text
    schema.write_text(text.replace(TEMPLATE_AGE, TEAM_AGE), encoding="utf-8")
    commit_all(project, "adults only")

    done = scaffold("update", "--vcs-ref", "newer", "--no-lock", "--json", project, cwd=tmp_path)

    assert done.returncode == 3, done.stdout + done.stderr
    assert json.loads(done.stdout)["conflicts"] == [SCHEMA]
    assert TEAM_AGE in schema.read_text(encoding="utf-8")  # inside the conflict's markers
    assert "<<<<<<<" in schema.read_text(encoding="utf-8")
    assert (project / CONTRACT).is_file()  # where the range now belongs
