"""Upgrades across real versions: a project made by the last release of this repository's
template, edited as a team would edit it, brought to this checkout by `scaffold apply`,
`scaffold update` and plain `copier update`.

The older version is the last release tag (`RELEASE`), not a synthetic change: between it and
this checkout lie real template changes (the data contract, settings.py, the task modules…).
This checkout is tagged as the next version in a clone, so copier sees it as a newer
*release* (copier compares tags as versions and skips prereleases unless told).
The project's tests run on the update branch through `--verify`, in a clean clone.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from scaffold.locking import uv_binary
from scaffold.project import find_conflicts
from tests.support import (
    BIN,
    DEFAULT_PACKAGE,
    LAST_RELEASE,
    REPO_ROOT,
    answered,
    commit_all,
    run,
    scaffold,
    tag_last_release,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("upgrade")]  # one released project

# The last release (tests/support.py): move the checks of what changed since with each release.
RELEASE = LAST_RELEASE[0]
NEWER = "v0.2.0"  # this checkout's template, tagged in the clone only
# Modules the release had that settings.py replaced: copier removes them (unedited).
REPLACED = ("config.py", "paths.py", "monitoring/locations.py")
MODULE = f"src/{DEFAULT_PACKAGE}/cohorts.py"
SCHEMA = f"src/{DEFAULT_PACKAGE}/core/schema.py"
CONTRACT = "data/contract.yaml"
TEMPLATE_AGE = '"age": (0, 120),'
TEAM_AGE = '"age": (18, 120),'

TEST = "tests/test_cohorts.py"
NOTE = "Our clinic's notes: this paragraph was written by the team.\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository with this checkout's template tagged NEWER on top.

    The working tree's template is committed, so uncommitted changes are tested.
    """
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    last = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)[0]
    assert f"v{last}" == RELEASE, f"a new release, {last}: move LAST_RELEASE, NEWER and the checks"
    dest = tmp_path_factory.mktemp("history") / "template"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(dest)], cwd=dest.parent)
    tag_last_release(dest)  # a clone without tags (CI's) gets it from its recorded commit
    for name in ("copier.yml", "includes", "template"):
        target = dest / name
        if target.is_dir():
            shutil.rmtree(target)
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    commit_all(dest, "this checkout's template", tag=NEWER)
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


@pytest.fixture(scope="module")
def released_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made by the template at RELEASE, once: each test updates a copy of it."""
    root = tmp_path_factory.mktemp("released")
    project = root / "clinic"
    created = scaffold(
        "new", "-q", project, "--defaults", "--template", template, "--vcs-ref", RELEASE,
        "-d", f"dvc_remote_url={root / 'remote'}",
        cwd=root,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return project


def _older_project(released_project: Path, tmp_path: Path) -> Path:
    """A copy of the released project (its git history too), for one test to change."""
    return Path(shutil.copytree(released_project, tmp_path / "clinic", symlinks=True))


def _old_schema(template: Path) -> dict[str, Any]:
    """The constants of RELEASE's schema module (plain Python literals then)."""
    source = subprocess.run(
        ["git", "show", f"{RELEASE}:template/src/{{{{ package_name }}}}/core/schema.py"],
        cwd=template,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    constants: dict[str, Any] = {}
    exec(compile(source, SCHEMA, "exec"), constants)  # our own older commit
    return constants


def _contract_as_old_schema(text: str) -> dict[str, Any]:
    """The contract's columns in the shape of RELEASE's schema constants."""
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
    template: Path, released_project: Path, tmp_path: Path
) -> None:
    project = _older_project(released_project, tmp_path)
    _team_edits(project)
    edited = {name: (project / name).read_bytes() for name in (MODULE, TEST, "README.md")}

    # `--verify` installs the project and runs its whole suite: minutes on a busy machine.
    done = run(
        [BIN / "scaffold", "apply", "--to", NEWER, "--format", "json", "--out", tmp_path / "out",
         "--verify", "make install test", project],
        cwd=tmp_path, check=False, timeout=900,
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
    ).render(dataset="", task="binary", project_slug=answered(project, "project_slug"))
    assert on_branch("params.yaml").decode() == newer_params.replace("    C: 1.0\n", "    C: 0.5\n")
    assert b'"humanize>=4.9"' in on_branch("pyproject.toml")
    assert b'name = "humanize"' in on_branch("uv.lock")
    assert f"_commit: {NEWER}\n".encode() in on_branch(".copier-answers.yml")
    # The schema became the data contract: the same columns, ranges and codes.
    old = _old_schema(template)
    contract = _contract_as_old_schema(on_branch(CONTRACT).decode())
    assert contract == {name: old[name] for name in contract}
    # The update arrived: settings.py replaced the modules the release had.
    assert on_branch(f"src/{DEFAULT_PACKAGE}/settings.py")
    tree = run(["git", "ls-tree", "-r", "--name-only", branch], cwd=project).stdout.split()
    assert [name for name in REPLACED if f"src/{DEFAULT_PACKAGE}/{name}" in tree] == []


def test_an_edited_schema_module_is_one_conflict_that_keeps_the_edit(
    released_project: Path, tmp_path: Path
) -> None:
    """A team that narrowed a range in RELEASE's schema module (now a loader of the contract)
    gets that one file as a conflict holding its edit, never a silent loss."""
    project = _older_project(released_project, tmp_path)
    schema = project / SCHEMA
    text = schema.read_text(encoding="utf-8")
    assert TEMPLATE_AGE in text
    schema.write_text(text.replace(TEMPLATE_AGE, TEAM_AGE), encoding="utf-8")
    commit_all(project, "adults only")

    done = scaffold("update", "--no-lock", "--json", project, cwd=tmp_path)

    assert done.returncode == 3, done.stdout + done.stderr
    assert json.loads(done.stdout)["conflicts"] == [SCHEMA]
    assert TEAM_AGE in schema.read_text(encoding="utf-8")  # inside the conflict's markers
    assert "<<<<<<<" in schema.read_text(encoding="utf-8")
    assert (project / CONTRACT).is_file()  # where the range now belongs


def test_plain_copier_update_takes_an_unedited_project_to_the_next_version(
    released_project: Path, tmp_path: Path
) -> None:
    """`copier update` as an owner without scaffold runs it: no ref, no `--prereleases`."""
    project = _older_project(released_project, tmp_path)

    done = run([BIN / "copier", "update", "--defaults", "--quiet"], cwd=project, check=False)

    assert done.returncode == 0, done.stdout + done.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == NEWER
    package = project / "src" / DEFAULT_PACKAGE
    assert [name for name in REPLACED if (package / name).exists()] == []
    assert (package / "settings.py").is_file()
    assert (project / CONTRACT).is_file()
    # Markers at a line's start, as scaffold looks (the pre-commit hook's regex names them).
    assert find_conflicts(project) == []
