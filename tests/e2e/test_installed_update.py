"""Projects made by an installed wheel stay updatable, offline, after upgrading scaffold.

Builds real wheels (v0.1.0, then v0.2.0 with a template change) from a copy of this repo,
installs them into a fresh venv, and updates one project with `scaffold update` and another
with plain `copier update`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.support import commit_all, copy_template_repo, run

pytestmark = pytest.mark.e2e


def _build_wheel(repo: Path, out: Path) -> Path:
    run(["uv", "build", "--wheel", "--quiet", "--out-dir", out], cwd=repo, timeout=600)
    wheels = sorted(out.glob("mlops_scaffold-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_projects_update_with_scaffold_and_plain_copier(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH"
    repo = copy_template_repo(tmp_path / "scaffolder", whole_project=True)
    run(["git", "tag", "v0.1.0"], cwd=repo)
    first = _build_wheel(repo, tmp_path / "dist1")
    assert first.name.startswith("mlops_scaffold-0.1.0-")

    venv = tmp_path / "venv"
    run([uv, "venv", "--quiet", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    run([uv, "pip", "install", "--quiet", "--python", python, first], cwd=tmp_path)
    bin_dir = venv / "bin"
    env = {"SCAFFOLD_HOME": str(tmp_path / "home")}
    for name in ("a", "b"):
        run([bin_dir / "scaffold", "new", "-q", name, "--defaults"], cwd=tmp_path, env=env)
        project = tmp_path / name
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
        assert answers["_commit"] == "v0.1.0"
        readme_note = project / "NOTES.md"
        readme_note.write_text("user notes\n")
        commit_all(project, "user edit")

    makefile = repo / "template" / "Makefile.jinja"
    makefile.write_text(makefile.read_text() + "\nwhats-new: ## Added in 0.2.0\n\t@echo new\n")
    commit_all(repo, "template change", tag="v0.2.0")
    second = _build_wheel(repo, tmp_path / "dist2")
    run([uv, "pip", "install", "--quiet", "--python", python, second], cwd=tmp_path)
    assert "0.2.0" in run([bin_dir / "scaffold", "--version"], cwd=tmp_path).stdout

    run([bin_dir / "scaffold", "update", "a"], cwd=tmp_path, env=env)
    run([bin_dir / "scaffold", "mirror"], cwd=tmp_path, env=env)
    run([bin_dir / "copier", "update", "--defaults", "--quiet"], cwd=tmp_path / "b", env=env)

    for name in ("a", "b"):
        project = tmp_path / name
        assert "whats-new:" in (project / "Makefile").read_text(), name
        assert (project / "NOTES.md").read_text() == "user notes\n", name
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
        assert answers["_commit"] == "v0.2.0", name


def test_update_adds_the_version_a_teammate_made_the_project_with(tmp_path: Path) -> None:
    """A project made with 0.1.0 elsewhere, updated by 0.2.0 on a machine whose mirror is
    empty: 0.1.0 comes from its wheel on the index (a local one, offline), or from --from."""
    uv = shutil.which("uv")
    assert uv, "uv must be on PATH"
    repo = copy_template_repo(tmp_path / "scaffolder", whole_project=True)
    run(["git", "tag", "v0.1.0"], cwd=repo)
    index = tmp_path / "index"
    first = _build_wheel(repo, index)
    makefile = repo / "template" / "Makefile.jinja"
    makefile.write_text(makefile.read_text() + "\nwhats-new: ## Added in 0.2.0\n\t@echo new\n")
    commit_all(repo, "template change", tag="v0.2.0")
    second = _build_wheel(repo, tmp_path / "dist2")
    shutil.copy(second, index)

    venv = tmp_path / "venv"
    run([uv, "venv", "--quiet", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    run([uv, "pip", "install", "--quiet", "--python", python, first], cwd=tmp_path)
    scaffold_bin = venv / "bin" / "scaffold"
    own = {"PYTHONPATH": ""}  # the venv's scaffold, never a checkout's on PYTHONPATH
    elsewhere = {**own, "SCAFFOLD_HOME": str(tmp_path / "teammate")}
    for name in ("a", "b"):
        run([scaffold_bin, "new", "-q", name, "--defaults"], cwd=tmp_path, env=elsewhere)
    run([uv, "pip", "install", "--quiet", "--python", python, second], cwd=tmp_path)

    empty = tmp_path / "empty"
    empty.mkdir()
    machines = {
        "a": ([], {"UV_FIND_LINKS": str(index)}, "mlops-scaffold==0.1.0 on the package index"),
        "b": (["--from", first], {"UV_FIND_LINKS": str(empty)}, first.name),
    }
    for name, (given, links, origin) in machines.items():
        home = tmp_path / f"runner-{name}"
        project = tmp_path / name
        answers = project / ".copier-answers.yml"
        recorded = yaml.safe_load(answers.read_text())
        # Both machines record the mirror as `~/…`; here the homes differ, so the test says so.
        recorded["_src_path"] = str(home / "template")
        answers.write_text(yaml.safe_dump(recorded))
        commit_all(project, "made on a teammate's machine")
        env = {**own, "SCAFFOLD_HOME": str(home), "UV_OFFLINE": "1", **links}

        done = run([scaffold_bin, "update", *given, name], cwd=tmp_path, env=env)

        assert f"Template mirror: added v0.1.0 from {origin}\n" in done.stderr, done.stderr
        assert "v0.1.0 → v0.2.0" in done.stdout
        assert "whats-new:" in (project / "Makefile").read_text(), name
        assert yaml.safe_load(answers.read_text())["_commit"] == "v0.2.0", name
