"""`scaffold apply`: branches committed and pushed to `file://` remotes, dirty and conflicted
repositories left as they were, drafts, the journal and --resume, --verify failures."""

from __future__ import annotations

import json
from pathlib import Path

from scaffold.errors import ExitCode
from tests.fleet_repos import changed, mixed_fleet, snapshot
from tests.support import run, scaffold


def _git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo).stdout.strip()


def _outcomes(stdout: str) -> dict[str, str]:
    return {repo["id"]: repo["outcome"] for repo in json.loads(stdout)["repos"]}


def test_apply_commits_pushes_and_leaves_the_rest_alone(tmp_path: Path) -> None:
    _template, repos = mixed_fleet(tmp_path / "fleet")
    untouched = {repos[state]: snapshot(repos[state]) for state in ("dirty", "edited")}
    heads = {state: _git(repos[state], "rev-parse", "HEAD") for state in ("behind", "edited")}

    done = scaffold(
        "apply", "--format", "json", "--out", "out", "--verify", "test -f new.txt",
        *(repos[state] for state in ("current", "behind", "dirty", "edited", "deleted")),
        cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == ExitCode.CONFLICTS, done.stderr
    assert _outcomes(done.stdout) == {
        "current": "current",
        "behind": "applied",
        "dirty": "skipped-dirty",
        "edited": "blocked",
        "deleted": "applied",
    }
    behind = repos["behind"]
    # The update is a commit on a new branch, in the repo and on its bare origin; the
    # checked-out branch, its HEAD and the work tree did not move.
    assert _git(behind, "branch", "--show-current") == "main"
    assert _git(behind, "rev-parse", "HEAD") == heads["behind"]
    assert _git(behind, "status", "--porcelain") == ""
    branch = "scaffold/update-v2"
    assert _git(behind, "rev-parse", f"{branch}~1") == heads["behind"]
    assert _git(behind, "show", f"{branch}:settings.toml") == "line-length = 110"
    origin = Path(_git(behind, "remote", "get-url", "origin").removeprefix("file://"))
    assert _git(origin, "rev-parse", branch) == _git(behind, "rev-parse", branch)
    text = (tmp_path / "out" / "behind.md").read_text()
    assert "**v1 → v2**" in text and "| `new.txt` | added |" in text
    assert "Verify `test -f new.txt`: passed" in text
    # Conflicts block: nothing committed, the patch reported; dirty: skipped.
    assert changed(untouched) == {}
    assert _git(repos["edited"], "branch", "--list", "scaffold/*") == ""
    assert "<<<<<<< " in (tmp_path / "out" / "edited.patch").read_text()
    journal = (tmp_path / "out" / "journal.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in journal) == sorted(_outcomes(done.stdout))


def test_draft_commits_the_conflicts_and_resume_skips_done_repos(tmp_path: Path) -> None:
    _template, repos = mixed_fleet(tmp_path / "fleet")
    chosen = [repos["behind"], repos["edited"]]

    draft = scaffold("apply", "--format", "json", "--conflicts", "draft", *chosen, cwd=tmp_path)
    again = scaffold("apply", "--format", "json", *chosen, cwd=tmp_path)
    resumed = scaffold("apply", "--format", "json", "--resume", *chosen, cwd=tmp_path)

    assert draft.returncode == ExitCode.CONFLICTS, draft.stderr
    assert _outcomes(draft.stdout) == {"behind": "applied", "edited": "draft"}
    edited_tip = _git(repos["edited"], "show", "scaffold/update-v2:settings.toml")
    assert "<<<<<<< " in edited_tip
    assert _git(repos["edited"], "log", "-1", "--format=%s", "scaffold/update-v2").startswith(
        "[draft] "
    )
    assert "**Conflicts to resolve**" in (tmp_path / ".scaffold-fleet" / "edited.md").read_text()
    # A plain re-run touches nothing: the branches exist. --resume reads the journal.
    assert _outcomes(again.stdout) == {"behind": "branch-exists", "edited": "branch-exists"}
    assert again.returncode == ExitCode.PENDING
    assert [repo["resumed"] for repo in json.loads(resumed.stdout)["repos"]] == [True, True]
    assert _outcomes(resumed.stdout) == {"behind": "applied", "edited": "draft"}


def test_a_failed_verify_exits_6(tmp_path: Path) -> None:
    _template, repos = mixed_fleet(tmp_path / "fleet")

    done = scaffold("apply", "--verify", "exit 7", repos["behind"], repos["current"], cwd=tmp_path)

    assert done.returncode == ExitCode.VERIFY_FAILED, done.stderr
    assert "failed (7)" in done.stdout
    text = (tmp_path / ".scaffold-fleet" / "behind.md").read_text()
    assert "**failed** (exit 7)" in text
