"""`scaffold update` where the template mirror lacks the project's version (a teammate's
machine, a fresh CI runner): the version is added from a checkout, a wheel or the index."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scaffold import copying, source
from scaffold.errors import ExitCode
from tests.inline import release_v2, template_repo
from tests.support import commit_all, run, scaffold


@pytest.fixture
def made_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A project made with release 0.1.0 on another machine, and a checkout of 0.1.0;
    this machine's mirror holds 0.2.0 only."""
    release = template_repo(tmp_path / "release-0.1.0")
    monkeypatch.setenv(source.HOME_ENV, str(tmp_path / "other-machine"))
    ref = source.sync_mirror("0.1.0", root=release)
    project = tmp_path / "proj"
    copying.render(ref.src, ref.vcs_ref, project, {}, defaults=True)
    run(["git", "init", "--quiet", "--initial-branch=main"], cwd=project)
    monkeypatch.setenv(source.HOME_ENV, str(tmp_path / "this-machine"))
    newer = template_repo(tmp_path / "release-0.2.0")
    release_v2(newer)
    source.sync_mirror("0.2.0", root=newer)
    # Both machines record the mirror as `~/…`; here the homes differ, so the test says so.
    answers = project / copying.ANSWERS_FILE
    recorded = yaml.safe_load(answers.read_text(encoding="utf-8"))
    recorded["_src_path"] = source.portable(source.mirror_path())
    answers.write_text(yaml.safe_dump(recorded), encoding="utf-8")
    commit_all(project, "made on another machine")
    return project, release


def test_update_adds_the_missing_version_from_a_checkout(
    made_elsewhere: tuple[Path, Path], tmp_path: Path
) -> None:
    project, release = made_elsewhere
    assert "v0.1.0" not in source.mirror_tags()

    done = scaffold("update", "--from", release, "--vcs-ref", "v0.2.0", project, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"Template mirror: added v0.1.0 from {release}\n" in done.stderr
    assert "v0.1.0 → v0.2.0" in done.stdout
    assert (project / "new.txt").is_file()
    assert not (project / "old.txt").exists()
    assert {"v0.1.0", "v0.2.0"} <= set(source.mirror_tags())


def test_a_version_found_nowhere_fails_in_one_line_and_changes_nothing(
    made_elsewhere: tuple[Path, Path], tmp_path: Path
) -> None:
    project, _release = made_elsewhere
    index = tmp_path / "empty-index"
    index.mkdir()
    offline = {"UV_OFFLINE": "1", "UV_FIND_LINKS": str(index)}

    done = scaffold("update", "-q", "--vcs-ref", "v0.2.0", project, cwd=tmp_path, env=offline)

    assert done.returncode == ExitCode.USER_ERROR
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "lacks v0.1.0, and mlops-scaffold==0.1.0 was not found" in done.stderr
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    assert "v0.1.0" not in source.mirror_tags()


def test_a_wheel_of_another_version_is_refused(
    made_elsewhere: tuple[Path, Path], tmp_path: Path
) -> None:
    project, _release = made_elsewhere
    wheel = tmp_path / "mlops_scaffold-0.3.0-py3-none-any.whl"
    wheel.write_bytes(b"")

    done = scaffold("update", "-q", "--from", wheel, project, cwd=tmp_path)

    assert done.returncode == ExitCode.USER_ERROR
    assert done.stderr == (
        f"error: --from {wheel.name} is mlops-scaffold 0.3.0; the project was made with v0.1.0\n"
    )
