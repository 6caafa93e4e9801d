"""`scaffold status` over a fleet in mixed states, and reading fleet files with bad rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scaffold import fleet
from scaffold.errors import ExitCode
from scaffold.fleet.status import status
from tests.fleet_repos import STATES, changed, mixed_fleet, snapshot
from tests.support import BIN, commit_all, run, scaffold
from tests.terminal import in_a_terminal, read_terminal


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The mixed fleet, built once: status never changes it (a test checks that)."""
    return mixed_fleet(tmp_path_factory.mktemp("fleet"))[1]


def test_status_of_a_mixed_fleet(repos: dict[str, Path], tmp_path: Path) -> None:
    results = status(fleet.from_paths(repos.values()).repos, tmp_path, deep=True, jobs=2)

    by_id = {result.id: result for result in results}
    assert [result.id for result in results] == list(STATES)
    assert {state: by_id[state].state for state in STATES} == {
        "current": "current",
        "behind": "behind",
        "dirty": "behind",
        "conflicted": "conflicted",
        "deleted": "behind",
        "edited": "behind",
        "unreachable": "failed",
    }
    assert (by_id["current"].version, by_id["current"].latest, by_id["current"].behind) == (
        "v2",
        "v2",
        0,
    )
    assert (by_id["behind"].version, by_id["behind"].behind) == ("v1", 1)
    assert by_id["dirty"].dirty == ("NOTES.md",)
    assert by_id["conflicted"].conflicts == ("settings.toml",)
    assert by_id["deleted"].deleted == ("settings.toml",)
    assert by_id["edited"].deleted == ()
    assert by_id["unreachable"].error == f"{repos['unreachable']} not found"
    assert fleet.worst(result.code for result in results) == ExitCode.REPO_FAILED


def test_status_cli_formats_and_exit_code(repos: dict[str, Path], tmp_path: Path) -> None:
    reachable = [repos[state] for state in STATES if state != "unreachable"]
    before = {path: snapshot(path) for path in reachable}

    table = scaffold("status", *reachable, cwd=tmp_path)
    as_json = scaffold("status", "--format", "json", *reachable, cwd=tmp_path)
    as_csv = scaffold("status", "--format", "csv", "--jobs", "1", *reachable, cwd=tmp_path)
    as_md = scaffold("status", "--format", "md", *reachable, cwd=tmp_path)

    for done in (table, as_json, as_csv, as_md):
        assert done.returncode == ExitCode.CONFLICTS, done.stderr  # conflicts beat pending
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "VERSION", "LATEST", "BEHIND", "DIRTY", "CONFLICTS"]
    assert lines[4].split() == ["conflicted", "conflicted", "v1", "v2", "1", "settings.toml"]
    assert table.stderr.strip() == "6 repos: 1 ok, 4 pending, 1 conflicts"
    document = json.loads(as_json.stdout)
    assert (document["schema"], document["command"], document["exit_code"]) == (1, "status", 3)
    assert [repo["state"] for repo in document["repos"]][:2] == ["current", "behind"]
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows[2]["id"] == "dirty" and rows[2]["dirty"] == "1"
    assert rows[2]["deleted"] == ""  # not checked without --deep
    assert as_md.stdout.splitlines()[1].startswith("|---|")
    assert changed(before) == {}


def test_status_on_a_terminal_counts_the_repositories_on_a_bar(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    """On a terminal a bar counts the repositories as they finish, with an estimate, and
    makes way for the table; off one, stderr holds the summary alone (test above)."""
    reachable = [repos[state] for state in STATES if state != "unreachable"]
    with in_a_terminal([BIN / "scaffold", "status", *reachable], tmp_path) as (process, master):
        shown = read_terminal(master, process).decode(errors="replace")
        assert process.wait(timeout=60) == ExitCode.CONFLICTS, shown
    assert "repositories" in shown and "━" in shown, shown  # the bar's label and its line
    assert f"{len(reachable)}/{len(reachable)}" in shown and "eta" in shown, shown
    assert "\r\033[K" not in shown, "no hand-written line clearing"
    assert "6 repos: 1 ok, 4 pending, 1 conflicts" in shown, shown


def test_status_verify_runs_in_a_clean_worktree(repos: dict[str, Path], tmp_path: Path) -> None:
    """The dirty repo's uncommitted NOTES.md is not in the worktree the command sees."""
    ok = scaffold("status", "--verify", "test -f README.md", repos["current"], cwd=tmp_path)
    failing = scaffold(
        "status", "--format", "json", "--verify", "test -f NOTES.md", repos["dirty"], cwd=tmp_path
    )

    assert ok.returncode == 0, ok.stderr
    assert "ok " in ok.stdout
    assert failing.returncode == ExitCode.VERIFY_FAILED
    (repo,) = json.loads(failing.stdout)["repos"]
    assert (repo["state"], repo["verify"]["ok"], repo["verify"]["returncode"]) == (
        "verify-failed",
        False,
        1,
    )
    assert run(["git", "worktree", "list"], cwd=repos["dirty"]).stdout.count("\n") == 1


def test_verify_alone_runs_make_check(repos: dict[str, Path], tmp_path: Path) -> None:
    """`--verify` without a command runs the generated projects' `make check`."""
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", repos["current"], clone], cwd=tmp_path)
    (clone / "Makefile").write_text("check:\n\t@echo checked in $$(basename $$PWD)\n")
    commit_all(clone, "a make check")

    done = scaffold("status", "--format", "json", clone, "--verify", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    (repo,) = json.loads(done.stdout)["repos"]
    assert (repo["verify"]["command"], repo["verify"]["ok"]) == ("make check", True)
    assert repo["verify"]["tail"].startswith("checked in ")


def test_verify_before_the_repositories_is_refused(repos: dict[str, Path], tmp_path: Path) -> None:
    """`--verify REPO` would run the repository as a command: one usage error instead."""
    done = scaffold("status", "--verify", repos["current"], repos["behind"], cwd=tmp_path)
    assert done.returncode == 2
    assert "is a directory, not a command: put --verify after the repositories" in done.stderr


def test_status_sees_an_open_update_branch(repos: dict[str, Path], tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", repos["behind"], clone], cwd=tmp_path)
    run(["git", "branch", "scaffold/update-v2"], cwd=clone)

    (result,) = status(fleet.from_paths([clone]).repos, tmp_path)

    assert result.update_branches == ("scaffold/update-v2",)


def test_bad_fleet_rows_are_reported_by_line_and_the_rest_go_on(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "fleet.csv").write_text(
        "id,path,group,answers.name\n"
        f"ok,{repos['current']},a,\n"
        "bad id,somewhere,a,\n"
        f"ok,{repos['behind']},b,\n"
        ",,b,\n"
        f"extra,{repos['behind']},b,x,surplus\n",
        encoding="utf-8",
    )

    done = scaffold("status", "--fleet", "fleet.csv", "--format", "json", cwd=tmp_path)

    assert done.returncode == ExitCode.REPO_FAILED
    assert done.stderr.splitlines() == [
        "error: fleet.csv:3: id 'bad id' must be letters, digits, '.', '_' or '-'",
        "error: fleet.csv:4: duplicate id 'ok'",
        "error: fleet.csv:5: `path` (a directory or a git URL) is missing",
        "error: fleet.csv:6: more cells than columns",
    ]
    states = [(repo["id"], repo["state"]) for repo in json.loads(done.stdout)["repos"]]
    assert states[0] == ("ok", "current")
    assert [state for _id, state in states[1:]] == ["failed"] * 4


def test_fleet_yaml_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(
        "repos:\n"
        "  - id: one\n"
        "    path: one\n"
        "    group: ml\n"
        "    answers: {name: first}\n"
        "  - path: file:///srv/git/two.git\n"
        "    branch: main\n"
        "  - id: three\n"
        "    colour: blue\n",
        encoding="utf-8",
    )

    loaded = fleet.load(tmp_path / "fleet.yaml")

    one, two, three = loaded.repos
    assert three.problem is not None
    assert (one.location, one.group, dict(one.answers)) == (
        str(tmp_path / "one"),
        "ml",
        {"name": "first"},
    )
    assert (two.id, two.is_url, two.branch) == ("two", True, "main")
    assert loaded.problems == (
        "fleet.yaml:8: unknown key 'colour' (known: id, path, branch, group, answers)",
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("fleet.yaml", "repos: [\n", "fleet.yaml:2: not valid YAML"),
        ("fleet.yaml", "repos: 3\n", "expected a list of repositories"),
        ("fleet.csv", "id,where\n", "fleet.csv:1: unknown column 'where'"),
    ],
)
def test_an_unreadable_fleet_file_is_one_error_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")

    done = scaffold("status", "--fleet", name, cwd=tmp_path)

    assert done.returncode == ExitCode.USER_ERROR
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error: ") and message in done.stderr


def test_a_repo_given_by_git_url_is_cloned_under_out(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    url = f"file://{repos['behind'].parent / 'behind.git'}"
    (tmp_path / "fleet.yaml").write_text(f"- id: remote\n  path: {url}\n  branch: main\n")

    first = scaffold("status", "--fleet", "fleet.yaml", "--format", "json", cwd=tmp_path)
    again = scaffold("status", "--fleet", "fleet.yaml", "--format", "json", cwd=tmp_path)

    for done in (first, again):  # cloned, then fetched and reset
        assert done.returncode == ExitCode.PENDING, done.stderr
        (repo,) = json.loads(done.stdout)["repos"]
        assert (repo["state"], repo["path"]) == (
            "behind",
            str(tmp_path / ".scaffold-fleet" / "clones" / "remote"),
        )
