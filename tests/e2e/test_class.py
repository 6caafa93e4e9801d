"""Courses with the real template: a class provisioned at a synthetic older tag gets a fix
pushed with `class push-fix`; `class status` on a trained project; and a wheelhouse that
installs a fresh project with every package index switched off."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from tests.support import BIN, commit_all, copy_template_repo, run, scaffold

pytestmark = pytest.mark.e2e
FIX_TARGET = "\nwhats-new: ## Show what the template added\n\t@echo new\n"


def _git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo).stdout.strip()


def test_push_fix_to_a_real_class(tmp_path: Path) -> None:
    template = copy_template_repo(tmp_path / "template")
    run(["git", "tag", "v0.1.0"], cwd=template)
    remotes = tmp_path / "remotes"
    (tmp_path / "roster.csv").write_text(
        "id,remote\n" + "".join(f"{i},file://{remotes}/{i}.git\n" for i in ("ana", "bo", "cy")),
        encoding="utf-8",
    )
    made = scaffold(
        "class", "provision", "--roster", "roster.csv", "--out", "class",
        "--template", template, "--vcs-ref", "v0.1.0",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    students = {}
    for ident in ("ana", "bo", "cy"):
        students[ident] = tmp_path / f"student-{ident}"
        run(["git", "clone", "--quiet", remotes / f"{ident}.git", students[ident]], cwd=tmp_path)
    # ana adds her own target where the fix adds one; bo changes a parameter; cy nothing.
    makefile = students["ana"] / "Makefile"
    makefile.write_text(makefile.read_text() + "\nmine: ## My target\n\t@echo mine\n")
    params = students["bo"] / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42", "seed: 7", 1))
    for ident in ("ana", "bo"):
        commit_all(students[ident], "my work")
        run(["git", "push", "--quiet"], cwd=students[ident])
    ana_makefile = makefile.read_bytes()
    heads = {ident: _git(remotes / f"{ident}.git", "rev-parse", "main") for ident in students}
    fix = template / "template" / "Makefile.jinja"
    fix.write_text(fix.read_text() + FIX_TARGET)
    commit_all(template, "template fix: whats-new", tag="v0.2.0")

    done = scaffold(
        "class", "push-fix", "--fleet", "class", "--to", "v0.2.0", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 4, done.stderr  # ana has a fix left as a patch
    results = {repo["id"]: repo for repo in json.loads(done.stdout)["repos"]}
    assert {i: (r["outcome"], r["kept"]) for i, r in results.items()} == {
        "ana": ("fix-as-patch", ["Makefile"]),
        "bo": ("applied", []),
        "cy": ("applied", []),
    }
    branch = "scaffold/update-v0.2.0"
    for ident, student in students.items():
        run(["git", "fetch", "--quiet"], cwd=student)
        # Nothing force-pushed: main is the student's, the branch starts from it.
        assert _git(student, "rev-parse", "origin/main") == heads[ident]
        assert _git(student, "rev-parse", f"origin/{branch}~1") == heads[ident]
        assert _git(student, "show", f"origin/{branch}:.copier-answers.yml").count("v0.2.0") == 1
    cy = _git(students["cy"], "show", f"origin/{branch}:Makefile")
    assert cy.endswith(FIX_TARGET.rstrip("\n"))
    bo_makefile = _git(students["bo"], "show", f"origin/{branch}:Makefile")
    assert "whats-new:" in bo_makefile
    assert "seed: 7" in _git(students["bo"], "show", f"origin/{branch}:params.yaml")
    ana = run(["git", "show", f"origin/{branch}:Makefile"], cwd=students["ana"]).stdout
    assert ana.encode() == ana_makefile
    listed = _git(students["ana"], "ls-tree", "-r", "--name-only", f"origin/{branch}", "fixes")
    assert listed.splitlines() == ["fixes/v0.2.0/FIX.md", "fixes/v0.2.0/Makefile.patch"]
    patch = _git(students["ana"], "show", f"origin/{branch}:fixes/v0.2.0/Makefile.patch")
    assert "+whats-new: ## Show what the template added" in patch
    for ident in ("bo", "cy"):
        assert "fixes/" not in _git(
            students[ident], "ls-tree", "-r", "--name-only", f"origin/{branch}"
        )


def test_class_status_sees_the_pipeline_run_and_a_stale_one(trained: Path, tmp_path: Path) -> None:
    """The trained project as a student's repository, and a clone that changed a parameter."""
    stale = tmp_path / "stale"
    run(["git", "clone", "--quiet", trained, stale], cwd=tmp_path)
    params = stale / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42", "seed: 7", 1))
    commit_all(stale, "a new seed, pipeline not rerun")
    (tmp_path / "fleet.csv").write_text(
        f"id,path\nran,{trained}\nstale,{stale}\n", encoding="utf-8"
    )

    done = scaffold("class", "status", "--fleet", "fleet.csv", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(done.stdout))}
    assert rows["ran"]["pipeline"] == "current"
    assert rows["stale"]["pipeline"] == "stale: prepare (parameter prepare changed)"
    assert rows["ran"]["make test"] == "not run"


def test_a_wheelhouse_installs_a_fresh_project_with_the_index_off(tmp_path: Path) -> None:
    """Airflow's group too (`make airflow-install`): a course may hand out its DAG."""
    start = time.monotonic()
    answers = ["-d", "airflow=true"]
    run([BIN / "scaffold", "wheelhouse", "wheels", *answers], cwd=tmp_path, timeout=3600)
    wheels = sorted((tmp_path / "wheels").glob("*.whl"))
    size = sum(wheel.stat().st_size for wheel in wheels)
    print(
        f"wheelhouse: {len(wheels)} wheels, {size / 1e6:.0f} MB, {time.monotonic() - start:.0f} s"
    )
    assert scaffold("new", "-q", "lab", "--defaults", *answers, cwd=tmp_path).returncode == 0
    dead = "http://127.0.0.1:9/simple"  # nothing listens: any index access fails
    offline = {
        "UV_OFFLINE": "1",
        "UV_NO_CACHE": "1",
        "UV_INDEX_URL": dead,
        "UV_DEFAULT_INDEX": dead,
        "PIP_NO_INDEX": "1",
        "PIP_INDEX_URL": dead,
        "PIP_FIND_LINKS": "",
    }
    project = tmp_path / "lab"

    wheelhouse = f"WHEELHOUSE={tmp_path / 'wheels'}"
    run(["make", "install", "airflow-install", wheelhouse], cwd=project, env=offline)

    probe = "import heart_disease_risk, mlflow, dvc, sklearn, airflow; print('ok')"
    assert run([project / ".venv/bin/python", "-c", probe], cwd=project).stdout.strip() == "ok"
    # And without the wheelhouse the same install must fail: the index really is off.
    run(["rm", "-rf", ".venv"], cwd=project)
    refused = run(["make", "install"], cwd=project, env=offline, check=False)
    assert refused.returncode != 0
