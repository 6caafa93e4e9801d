"""`scaffold feature`: every switch both ways on the real template, with user edits elsewhere.

One project is generated per module (`lock=False`) and copied for each test, so a test costs
the switch itself (copier renders the template a few times), not a new project.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from scaffold import api, features
from scaffold.errors import ExitCode
from tests.support import (
    DEFAULT_PACKAGE,
    OFF_BY_DEFAULT,
    REPO_ROOT,
    commit_all,
    feature_files,
    git_files,
    run,
    scaffold,
)

SWITCHES = ("serving", "docker", "helm", "ci", "airflow")
PAGES = {
    "serving": "serving.md",
    "docker": "container.md",
    "helm": "kubernetes.md",
    "ci": "ci.md",
    "airflow": "airflow.md",
}
USER_MODULE = f"src/{DEFAULT_PACKAGE}/extra.py"
USER_PARAGRAPH = "Our own notes: this paragraph was written by the team, not the template.\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project (every feature on) with a user's commit: a module, params, README."""
    project = api.create(tmp_path_factory.mktemp("features") / "p", defaults=True, lock=False).path
    (project / USER_MODULE).write_text('"""A module the team added."""\n', encoding="utf-8")
    params = project / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8") + "# tuned by the team\n")
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("## Quick start\n", f"## Quick start\n\n{USER_PARAGRAPH}", 1))
    commit_all(project, "the team's edits")
    return project


@pytest.fixture
def project(base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "p", symlinks=True))


def _snapshot(project: Path) -> dict[str, bytes]:
    names = [USER_MODULE, "params.yaml", "README.md"]
    return {name: (project / name).read_bytes() for name in names}


def _switch(project: Path, name: str, enable: bool) -> features.SwitchResult:
    result = features.switch(project, name, enable)
    assert result.conflicts == ()
    assert api.find_conflicts(project) == []
    commit_all(project, f"{name} {'on' if enable else 'off'}")
    return result


@pytest.mark.parametrize("name", [name for name in SWITCHES if name not in OFF_BY_DEFAULT])
def test_switch_off_then_on_keeps_user_edits(project: Path, name: str) -> None:
    edits = _snapshot(project)
    everything = git_files(project)
    off = {name: False}
    gone = feature_files({}) - feature_files(off)
    assert f"docs/{PAGES[name]}" in gone

    caches = {(project / gone_file).parent / "__pycache__" for gone_file in gone}
    for cache in caches:  # as an installed project has them
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "stale.pyc").write_bytes(b"")

    result = _switch(project, name, enable=False)
    assert set(result.removed) == gone
    assert git_files(project) == everything - gone
    kept = {(project / kept_file).parent for kept_file in everything - gone}
    left = sorted(str(c.parent) for c in caches if c.parent not in kept and c.parent.exists())
    assert left == []  # no directory held only by bytecode caches
    assert _snapshot(project) == edits
    index = (project / "docs" / "features.md").read_text(encoding="utf-8")
    assert f"({PAGES[name]})" not in index
    assert {f.name: f.enabled for f in features.list_features(project)}[name] is False

    result = _switch(project, name, enable=True)
    assert set(result.added) == {gone_file for gone_file in gone if _back(gone_file, name)}
    assert _snapshot(project) == edits
    index = (project / "docs" / "features.md").read_text(encoding="utf-8")
    assert f"({PAGES[name]})" in index
    assert (project / "docs" / PAGES[name]).is_file()


def test_airflow_switches_on_then_off_keeping_user_edits(project: Path) -> None:
    """Off by default: on brings the DAG, its tests, make file, page and group; off takes them."""
    edits = _snapshot(project)
    everything = git_files(project)
    added = feature_files({"airflow": True}) - feature_files({})
    assert f"docs/{PAGES['airflow']}" in added

    result = _switch(project, "airflow", enable=True)
    assert set(result.added) == added
    assert {"pyproject.toml", "docs/features.md"} <= set(result.modified)
    assert "[dependency-groups]" in (project / "pyproject.toml").read_text(encoding="utf-8")
    assert 'airflow = [\n    "apache-airflow>=' in (project / "pyproject.toml").read_text("utf-8")
    assert "(airflow.md)" in (project / "docs" / "features.md").read_text(encoding="utf-8")
    switched_on = _snapshot(project)
    params = switched_on.pop("params.yaml").decode()
    assert "\nairflow:\n" in params  # the DAG's schedule and retries, beside the team's edit
    assert params.replace(params[params.index("\nairflow:") : params.index("\nmlflow:")], "") == (
        edits["params.yaml"].decode()
    )
    assert switched_on == {name: text for name, text in edits.items() if name != "params.yaml"}

    result = _switch(project, "airflow", enable=False)
    assert set(result.removed) == added
    assert git_files(project) == everything
    assert "apache-airflow" not in (project / "pyproject.toml").read_text(encoding="utf-8")
    assert _snapshot(project) == edits


def _answer(project: Path, **answers: bool) -> None:
    """Commit other answers to the feature questions, as if the project had been made so."""
    file = project / ".copier-answers.yml"
    recorded = yaml.safe_load(file.read_text(encoding="utf-8"))
    file.write_text(yaml.safe_dump({**recorded, **answers}), encoding="utf-8")
    commit_all(project, f"answers {answers}")


def _back(name: str, switched: str) -> bool:
    """Enabling a feature brings back its own files, not those of features that need it."""
    dependents = {"serving": ("docker", "helm"), "docker": ("helm",)}.get(switched, ())
    kept_off = dict.fromkeys(dependents, False)
    return name in feature_files(kept_off)


def test_unknown_feature_and_missing_prerequisite_are_one_line(project: Path) -> None:
    unknown = scaffold("feature", "enable", "gpu", project, cwd=project)
    assert unknown.returncode == ExitCode.USER_ERROR
    assert unknown.stderr.strip().splitlines() == [
        "error: unknown feature 'gpu'; the template's features: serving, docker, helm, ci, airflow"
    ]
    _answer(project, docker=False)  # as a project made without docker (no render needed)
    needs = scaffold("feature", "enable", "helm", project, "-q", cwd=project)
    assert needs.returncode == ExitCode.USER_ERROR
    assert needs.stderr.strip() == "error: feature helm needs docker; enable docker first"


def test_enabling_again_restores_an_answer_the_disable_dropped(project: Path) -> None:
    image = "registry.example.com/team/heart"
    version = str(api.read_answers(project)["_commit"])
    api.run_update(project, {"container_image": image}, version)
    commit_all(project, "our registry")
    _switch(project, "docker", enable=False)
    assert "container_image" not in api.read_answers(project)  # copier drops hidden answers

    result = _switch(project, "docker", enable=True)
    assert result.restored == (("container_image", image),)
    assert api.read_answers(project)["container_image"] == image
    assert f"IMAGE ?= {image}\n" in (project / "make" / "container.mk").read_text()


def test_already_in_state_exits_0_and_changes_nothing(project: Path) -> None:
    head = run(["git", "rev-parse", "HEAD"], cwd=project).stdout
    done = scaffold("feature", "enable", "serving", project, cwd=project)
    assert done.returncode == 0
    assert done.stdout.strip() == "serving is already enabled; nothing to do"
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    assert run(["git", "rev-parse", "HEAD"], cwd=project).stdout == head


def test_dirty_repository_is_refused(project: Path) -> None:
    (project / "params.yaml").write_text("changed: true\n", encoding="utf-8")
    done = scaffold("feature", "disable", "ci", project, "-q", cwd=project)
    assert done.returncode == ExitCode.USER_ERROR
    assert "uncommitted changes (params.yaml, …)" in done.stderr
    assert (project / ".github" / "workflows" / "ci.yml").is_file()


def test_disable_refuses_to_delete_an_edited_file_unless_forced(project: Path) -> None:
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text(encoding="utf-8") + "# our own step\n")
    commit_all(project, "edit the Dockerfile")

    dry = scaffold("feature", "disable", "docker", project, "--dry-run", "-q", cwd=project)
    assert dry.returncode == ExitCode.LOCAL_EDITS
    assert "  delete: Dockerfile (has local edits)" in dry.stdout.splitlines()
    assert "  delete: make/chart.mk" in dry.stdout.splitlines()  # helm needs docker
    assert dry.stdout.startswith("Would switch docker off (and helm with it)")

    refused = scaffold("feature", "disable", "docker", project, "-q", cwd=project)
    assert refused.returncode == ExitCode.LOCAL_EDITS
    assert refused.stderr.strip() == (
        "error: disabling docker would delete 1 file(s) with local edits (Dockerfile);"
        " pass --force to delete them anyway"
    )
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""

    forced = scaffold("feature", "disable", "docker", project, "--force", "-q", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert "  deleted: Dockerfile (has local edits)" in forced.stdout.splitlines()
    assert not dockerfile.exists()
    assert not (project / "docs" / "container.md").exists()
    assert api.find_conflicts(project) == []


def _asked_bools() -> list[str]:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    return [
        name
        for name, spec in config.items()
        if isinstance(spec, dict) and spec.get("type") == "bool" and spec.get("when") is not False
    ]


def test_every_switch_of_copier_yml_is_tested_both_ways() -> None:
    """A switch added to copier.yml must join SWITCHES (and PAGES: its docs/ page)."""
    assert list(SWITCHES) == _asked_bools() == list(PAGES)
    assert features.feature_names(api.questions()) == list(SWITCHES)


def test_list_shows_every_boolean_question_of_copier_yml(project: Path) -> None:
    asked_bools = _asked_bools()
    _answer(project, serving=False)  # as a project made without serving: docker and helm need it
    listed = scaffold("feature", "list", "--json", project, cwd=project)
    assert listed.returncode == 0, listed.stderr
    rows = yaml.safe_load(listed.stdout)
    assert [row["name"] for row in rows] == asked_bools
    assert {row["name"]: row["enabled"] for row in rows} == {
        "serving": False,
        "docker": False,
        "helm": False,
        "ci": True,
        "airflow": False,
    }
    assert next(row for row in rows if row["name"] == "helm")["needs"] == ["serving", "docker"]


def test_a_version_missing_from_the_mirror_is_one_line(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    text = answers.read_text(encoding="utf-8")
    version = yaml.safe_load(text)["_commit"]
    answers.write_text(text.replace(f"_commit: {version}", "_commit: v9.9.9"), encoding="utf-8")
    commit_all(project, "made elsewhere")
    index = project.parent / "empty-index"
    index.mkdir()
    offline = {"UV_OFFLINE": "1", "UV_FIND_LINKS": str(index)}
    listed = scaffold("feature", "list", project, cwd=project, env=offline)
    assert listed.returncode == ExitCode.USER_ERROR
    assert len(listed.stderr.strip().splitlines()) == 1, listed.stderr
    assert "lacks v9.9.9, and mlops-scaffold==9.9.9 was not found" in listed.stderr
