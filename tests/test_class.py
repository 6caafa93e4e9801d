"""Courses on the inline template: roster rows by line number, `class provision` with
`file://` remotes, `class push-fix` keeping students' files, the `class status` CSV, and the
pipeline check against a real `dvc repro`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scaffold import api
from scaffold.classroom import roster
from scaffold.classroom.pipeline import pipeline_state
from scaffold.errors import ExitCode
from tests.fleet_repos import snapshot
from tests.inline import release_v2, template_repo, write_files
from tests.support import BIN, commit_all, run, scaffold


def _git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo).stdout.strip()


def test_bad_roster_rows_are_reported_by_line_and_the_rest_go_through() -> None:
    text = (
        "id,remote,project_name,license,serving\n"
        "ana,,Ana's model,MIT,\n"
        "bad id,,,,\n"
        "ANA,,,,\n"
        "bo,,,GPL,\n"
        "\n"
        "cy,,,,,surplus\n"
        ",,x,,\n"
        "dee,file:///srv/dee.git,,Apache-2.0,false\n"
        "eve,,,,maybe\n"
    )

    students = roster.parse(text, "roster.csv", api.questions())

    assert [s.problem for s in students if s.problem] == [
        "roster.csv:3: id 'bad id' cannot name a repository directory: use letters, digits,"
        " '.', '_' or '-' (at most 100, not starting with '.', '_' or '-')",
        "roster.csv:4: duplicate id 'ANA'",
        "roster.csv:5: invalid value 'GPL' for 'license'; allowed values: MIT, Apache-2.0,"
        " BSD-3-Clause, proprietary",
        "roster.csv:7: more cells than columns",
        "roster.csv:8: `id` is empty",
        "roster.csv:10: serving: 'maybe' is not a bool",
    ]
    assert [(s.id, s.line, s.remote, dict(s.answers)) for s in students if not s.problem] == [
        ("ana", 2, None, {"project_name": "Ana's model", "license": "MIT"}),
        ("dee", 9, "file:///srv/dee.git", {"license": "Apache-2.0", "serving": False}),
    ]


def test_an_unknown_column_fails_only_the_rows_that_fill_it() -> None:
    text = "id,projet_name,python_version\nana,Typo,3.12\nbo,,3.12\n"

    ana, bo = roster.parse(text, "r.csv", api.questions())

    assert ana.problem is not None
    assert ana.problem.startswith("r.csv:2: unknown column 'projet_name' (did you mean")
    assert (bo.problem, dict(bo.answers)) == (None, {"python_version": "3.12"})  # text, not 3.12


def test_a_roster_without_an_id_column_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text("name,remote\nana,\n", encoding="utf-8")

    done = scaffold("class", "provision", "--roster", "roster.csv", "--out", "c", cwd=tmp_path)

    assert done.returncode == ExitCode.USER_ERROR
    assert done.stderr.strip().splitlines() == [
        "error: roster.csv:1: no `id` column (columns: id, remote, QUESTION…)"
    ]
    assert not (tmp_path / "c").exists()


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return template_repo(tmp_path / "template")


def _provision(template: Path, where: Path, rows: str) -> tuple[int, dict[str, dict[str, str]]]:
    (where / "roster.csv").write_text(rows, encoding="utf-8")
    done = scaffold(
        "class", "provision", "--roster", "roster.csv", "--out", "class", "--format", "json",
        "--template", template, "--vcs-ref", "v1", "--no-lock",
        cwd=where,
    )  # fmt: skip
    return done.returncode, {repo["id"]: repo for repo in json.loads(done.stdout)["repos"]}


def test_provision_makes_commits_and_pushes_and_a_rerun_skips(
    template: Path, tmp_path: Path
) -> None:
    remotes = tmp_path / "remotes"
    rows = f"id,remote,name\nana,file://{remotes}/ana.git,Ana\nbo,,\nbad id,,\n"

    code, made = _provision(template, tmp_path, rows)

    assert code == ExitCode.REPO_FAILED
    assert {ident: repo["outcome"] for ident, repo in made.items()} == {
        "ana": "created",
        "bo": "created",
        "bad id": "failed",
    }
    ana = tmp_path / "class" / "ana"
    assert (ana / "README.md").read_text() == "# Ana\n"
    assert _git(ana, "log", "--format=%s").startswith("Initial commit from mlops-scaffold")
    assert _git(ana, "status", "--porcelain") == ""
    assert _git(remotes / "ana.git", "rev-parse", "main") == _git(ana, "rev-parse", "HEAD")
    assert _git(tmp_path / "class" / "bo", "remote") == ""
    assert (tmp_path / "class" / "fleet.csv").read_text() == (
        f"id,path,branch\nana,file://{remotes}/ana.git,main\nbo,./bo,main\n"
    )
    before = snapshot(ana)

    code, again = _provision(template, tmp_path, f"{rows.replace('bad id', 'cy')}")

    assert code == ExitCode.OK
    assert {ident: repo["outcome"] for ident, repo in again.items()} == {
        "ana": "exists",
        "bo": "exists",
        "cy": "created",
    }
    assert snapshot(ana) == before
    assert (tmp_path / "class" / "fleet.csv").read_text().splitlines()[1:] == [
        f"ana,file://{remotes}/ana.git,main",
        "bo,./bo,main",
        "cy,./cy,main",
    ]


def _class_of_three(template: Path, root: Path) -> dict[str, Path]:
    """ana and bo push to remotes, cy's repository is the class directory's own; ana edits
    the file the fix changes, bo another file, cy nothing. The fix is then released (v2)."""
    remotes = root / "remotes"
    rows = f"id,remote\nana,file://{remotes}/ana.git\nbo,file://{remotes}/bo.git\ncy,\n"
    code, _made = _provision(template, root, rows)
    assert code == ExitCode.OK
    students = {}
    for ident, edit in (
        ("ana", {"settings.toml": "line-length = 120\n"}),
        ("bo", {"NOTES.md": "mine\n"}),
    ):
        students[ident] = root / f"student-{ident}"
        run(["git", "clone", "--quiet", remotes / f"{ident}.git", students[ident]], cwd=root)
        write_files(students[ident], edit)
        commit_all(students[ident], "my work")
        run(["git", "push", "--quiet"], cwd=students[ident])
    students["cy"] = root / "class" / "cy"
    release_v2(template)
    return students


def test_push_fix_keeps_a_students_changed_file_and_writes_the_fix_as_a_patch(
    template: Path, tmp_path: Path
) -> None:
    students = _class_of_three(template, tmp_path)
    remotes = tmp_path / "remotes"
    heads = {ident: _git(remotes / f"{ident}.git", "rev-parse", "main") for ident in ("ana", "bo")}
    cy_before = snapshot(students["cy"])

    done = scaffold(
        "class", "push-fix", "--fleet", "class", "--to", "v2", "--format", "json", cwd=tmp_path
    )

    assert done.returncode == ExitCode.PENDING, done.stderr  # ana has a fix to apply by hand
    outcomes = {
        repo["id"]: (repo["outcome"], repo["kept"]) for repo in json.loads(done.stdout)["repos"]
    }
    assert outcomes == {
        "ana": ("fix-as-patch", ["settings.toml"]),
        "bo": ("applied", []),
        "cy": ("applied", []),
    }
    branch = "scaffold/update-v2"

    def tip(ident: str, name: str) -> str:
        repo = remotes / f"{ident}.git" if ident != "cy" else students["cy"]
        return _git(repo, "show", f"{branch}:{name}")

    # Untouched: fully updated. Unrelated edit: the fix and the edit. Nothing force-pushed:
    # main is where the student left it, and the branch starts from it.
    for ident in ("bo", "cy"):
        assert tip(ident, "settings.toml") == "line-length = 110"
        assert tip(ident, "new.txt") == "added in v2"
        assert "fixes/" not in _git(students[ident], "ls-tree", "-r", "--name-only", "HEAD")
    assert tip("bo", "NOTES.md") == "mine"
    for ident, head in heads.items():
        assert _git(remotes / f"{ident}.git", "rev-parse", "main") == head
        assert _git(remotes / f"{ident}.git", "rev-parse", f"{branch}~1") == head
    assert snapshot(students["cy"]) != cy_before  # only .git: a new branch
    assert {n for n in cy_before if not n.startswith(".git/")} == {
        n for n in snapshot(students["cy"]) if not n.startswith(".git/")
    }
    # The conflicting edit: the student's file byte for byte, the fix as a patch + FIX.md.
    ana = students["ana"]
    run(["git", "fetch", "--quiet"], cwd=ana)
    assert (
        run(["git", "show", f"origin/{branch}:settings.toml"], cwd=ana).stdout
        == "line-length = 120\n"
    )
    assert tip("ana", "new.txt") == "added in v2"
    guide = tip("ana", "fixes/v2/FIX.md")
    assert "git apply --3way fixes/v2/settings.toml.patch" in guide
    assert (
        "<<<<<<<"
        not in run(["git", "grep", "-c", "line-length", f"origin/{branch}"], cwd=ana).stdout
    )
    # The patch is the template's change: it applies to the file as first generated, and
    # merged into the student's work, --3way leaves both versions to choose from.
    run(["git", "merge", "--quiet", f"origin/{branch}"], cwd=ana)
    run(["git", "apply", "--check", "--3way", "fixes/v2/settings.toml.patch"], cwd=ana, check=False)
    first = _git(ana, "rev-list", "--max-parents=0", "HEAD")
    pristine = tmp_path / "pristine"
    run(["git", "worktree", "add", "--quiet", "--detach", pristine, first], cwd=ana)
    run(["git", "apply", ana / "fixes/v2/settings.toml.patch"], cwd=pristine)
    assert (pristine / "settings.toml").read_text() == "line-length = 110\n"
    applied = run(["git", "apply", "--3way", "fixes/v2/settings.toml.patch"], cwd=ana, check=False)
    assert applied.returncode == 1
    assert "line-length = 120" in (ana / "settings.toml").read_text()
    assert "line-length = 110" in (ana / "settings.toml").read_text()
    text = (tmp_path / "class" / ".scaffold-fleet" / "ana.md").read_text()
    assert "| `settings.toml` | kept |" in text


def test_class_status_csv_is_keyed_by_student(template: Path, tmp_path: Path) -> None:
    students = _class_of_three(template, tmp_path)

    done = scaffold("class", "status", "--fleet", "class", cwd=tmp_path)

    assert done.returncode == ExitCode.PENDING, done.stderr  # everyone is one version behind
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0]) == [
        "id", "version", "latest", "behind", "last commit", "make test", "pipeline", "error",
    ]  # fmt: skip
    last = {ident: _git(path, "log", "-1", "--format=%cs %h") for ident, path in students.items()}
    assert [list(row.values()) for row in rows] == [
        [ident, "v1", "v2", "1", last[ident], "not run", "no pipeline", ""]
        for ident in ("ana", "bo", "cy")
    ]


def test_class_status_test_runs_make_test_in_a_clean_worktree(
    template: Path, tmp_path: Path
) -> None:
    students = _class_of_three(template, tmp_path)
    write_files(students["cy"], {"Makefile": "test:\n\ttest -f NOTES.md\n"})
    commit_all(students["cy"], "a failing make test")
    write_files(students["cy"], {"NOTES.md": "uncommitted: not in the clean worktree\n"})

    done = scaffold(
        "class", "status", "--fleet", "class", "--test", "--format", "json", cwd=tmp_path
    )

    assert done.returncode == ExitCode.VERIFY_FAILED
    tests = {repo["id"]: repo["test"] for repo in json.loads(done.stdout)["repos"]}
    assert tests["cy"]["ok"] is False and tests["cy"]["command"] == "make test"
    assert tests["ana"]["returncode"] == 2  # no Makefile in the inline template


def _dvc(repo: Path, *args: str) -> None:
    run([BIN / "dvc", *args], cwd=repo, env={"DVC_NO_ANALYTICS": "1"})


def test_pipeline_state_compares_dvc_lock_with_the_commit(tmp_path: Path) -> None:
    """A real `dvc repro` writes dvc.lock; then params, code and data change in commits."""
    repo = tmp_path / "p"
    repo.mkdir()
    run(["git", "init", "--quiet", "--initial-branch=main"], cwd=repo)
    _dvc(repo, "init", "--quiet")
    write_files(
        repo,
        {
            "data.csv": "1\n2\n3\n",
            "params.yaml": "prepare:\n  data: data.csv\n  factor: 2\n",
            "prepare.py": "import yaml\n"
            "f = yaml.safe_load(open('params.yaml'))['prepare']['factor']\n"
            "open('out.txt', 'w').write(str(f * sum(map(int, open('data.csv')))))\n",
            # The data's path is a parameter, as the generated projects' raw table is.
            # A directory dependency, as the generated projects' core/ package is.
            "lib/sub.py": "",
            "lib/sub/b.py": "B = 1\n",
            "dvc.yaml": "stages:\n  prepare:\n    cmd: python prepare.py\n"
            "    deps: ['${prepare.data}', prepare.py, lib]\n    params: [prepare]\n"
            "    outs: [out.txt]\n"
            "  report:\n    cmd: cp out.txt report.txt\n"
            "    deps: [out.txt]\n    outs: [report.txt]\n",
        },
    )
    _dvc(repo, "add", "--quiet", "data.csv")
    commit_all(repo, "pipeline, not run")
    assert pipeline_state(repo) == "not run"
    _dvc(repo, "repro", "--quiet")
    commit_all(repo, "ran it")
    assert pipeline_state(repo) == "current"

    write_files(repo, {"params.yaml": "prepare:\n  data: data.csv\n  factor: 3\n"})
    commit_all(repo, "new factor")
    assert pipeline_state(repo) == "stale: prepare (parameter prepare changed)"
    _dvc(repo, "repro", "--quiet")
    commit_all(repo, "ran again")
    assert pipeline_state(repo) == "current"
    write_files(repo, {"lib/sub/b.py": "B = 2\n"})
    commit_all(repo, "a module in the directory changed")
    assert pipeline_state(repo) == "stale: prepare (lib changed)"
    _dvc(repo, "repro", "--quiet")
    commit_all(repo, "ran after the module change")
    assert pipeline_state(repo) == "current"
    write_files(repo, {"prepare.py": (repo / "prepare.py").read_text() + "# tweak\n"})
    commit_all(repo, "code change")
    assert pipeline_state(repo) == "stale: prepare (prepare.py changed)"
    assert pipeline_state(repo, "HEAD~1") == "current"
    write_files(repo, {"data.csv": "4\n"})
    _dvc(repo, "add", "--quiet", "data.csv")
    commit_all(repo, "new data")
    assert pipeline_state(repo) == "stale: prepare (data.csv changed)"
