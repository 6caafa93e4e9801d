"""`scaffold plan`: patches and file kinds from throwaway worktrees; the repos stay as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaffold import fleet
from scaffold.errors import ExitCode
from scaffold.fleet.plan import plan
from tests.fleet_repos import STATES, changed, mixed_fleet, project, snapshot
from tests.inline import release_v2, template_repo, write_files
from tests.support import commit_all, run, scaffold


@pytest.fixture(scope="module")
def fleet_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    return mixed_fleet(tmp_path_factory.mktemp("fleet"))


def test_plan_classes_every_file_and_writes_patches(
    fleet_root: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    _template, repos = fleet_root
    paths = list(repos.values())
    before = {path: snapshot(path) for path in paths if path.exists()}

    results = {r.id: r for r in plan(fleet.from_paths(paths).repos, None, tmp_path / "out", jobs=2)}

    assert changed(before) == {}
    assert dict(results["behind"].files) == {
        ".copier-answers.yml": "updated",
        "new.txt": "added",
        "old.txt": "removed",
        "settings.toml": "updated",
    }
    assert dict(results["edited"].files)["settings.toml"] == "conflict"
    assert dict(results["deleted"].files)["settings.toml"] == "user-deleted"
    assert results["current"].files == () and results["current"].patch is None
    assert results["unreachable"].error is not None
    assert (results["behind"].old_version, results["behind"].new_version) == ("v1", "v2")
    patch = Path(results["behind"].patch or "")
    assert patch == tmp_path / "out" / "behind.patch"
    # The patch is the update: it applies to the repository and gives the planned files.
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", repos["behind"], clone], cwd=tmp_path)
    run(["git", "apply", "--index", patch], cwd=clone)
    assert (clone / "settings.toml").read_text() == "line-length = 110\n"
    assert (clone / "new.txt").exists() and not (clone / "old.txt").exists()


def test_plan_tells_merged_from_updated_and_removed_but_modified(tmp_path: Path) -> None:
    """The user edits a line far from the template's change, and a file v2 removes."""
    template = template_repo(tmp_path / "template")
    write_files(template, {"template/settings.toml": "a = 1\nb = 2\nc = 3\nd = 4\nlength = 1\n"})
    commit_all(template, "v1.1", tag="v1.1")
    repo = project(template, tmp_path / "repo", ref="v1.1")
    write_files(repo, {"settings.toml": "a = 10\nb = 2\nc = 3\nd = 4\nlength = 1\n"})
    write_files(repo, {"old.txt": "mine now\n"})
    commit_all(repo, "user edits")
    release_v2(template)  # old.txt goes; settings.toml: the whole file again, length = 110
    write_files(template, {"template/settings.toml": "a = 1\nb = 2\nc = 3\nd = 4\nlength = 2\n"})
    commit_all(template, "v3", tag="v3")

    (result,) = plan(fleet.from_paths([repo]).repos, "v3", tmp_path / "out")

    assert dict(result.files) == {
        ".copier-answers.yml": "updated",
        "new.txt": "added",
        "old.txt": "removed-but-modified",
        "settings.toml": "merged",
    }
    assert result.code == ExitCode.PENDING


def test_plan_cli_leaves_no_worktree_and_exits_with_conflicts(
    fleet_root: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    _template, repos = fleet_root
    chosen = [repos[state] for state in STATES if state != "unreachable"]
    before = {path: snapshot(path) for path in chosen}

    done = scaffold(
        "plan", "--format", "json", "--out", "plans", "--to", "v2", *chosen, cwd=tmp_path
    )

    assert done.returncode == ExitCode.CONFLICTS, done.stderr
    document = json.loads(done.stdout)
    assert (document["schema"], document["command"], document["to"]) == (1, "plan", "v2")
    kinds = {repo["id"]: {f["kind"] for f in repo["files"]} for repo in document["repos"]}
    assert "conflict" in kinds["edited"] and kinds["current"] == set()
    assert sorted(path.name for path in (tmp_path / "plans").iterdir()) == [
        f"{state}.patch" for state in sorted(STATES) if state not in ("current", "unreachable")
    ]
    assert changed(before) == {}
    for path in chosen:
        assert not (path / ".git" / "worktrees").exists()


def test_plan_of_a_current_fleet_exits_0(
    fleet_root: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    done = scaffold("plan", fleet_root[1]["current"], cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "1 repos: 1 ok"
