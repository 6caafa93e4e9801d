"""Experiments in the generated project: `make challenger`, `make ab-report`,
`make promote-challenger`, `make model-history`, on the trained project's real models.

The service's challenger modes are another part of the work: the prediction log is written
here in the decided format (`"variant"` in the response, `"shadow"` beside it) by
`experiment_traffic.py`, from the registered models' own answers to the raw table's distinct
rows, and their true outcomes go through `make feedback` as in production.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

TRAFFIC = Path(__file__).with_name("experiment_traffic.py")


@pytest.fixture(name="project")
def project_fixture(trained: Path) -> Iterator[Path]:
    """The shared trained project; afterwards version 1 is the champion again, there is no
    challenger and the experiment's git-ignored files are gone."""
    yield trained
    helper(trained, "champion", "1")
    run(
        [
            trained / ".venv/bin/python",
            "-c",
            "import mlflow; from heart_disease_risk import tracking; "
            "tracking.configure(__import__('pathlib').Path.cwd()); "
            "c = mlflow.MlflowClient(); n = tracking.REGISTERED_MODEL_NAME; "
            "'challenger' in c.get_registered_model(n).aliases "
            "and c.delete_registered_model_alias(n, 'challenger')",
        ],
        cwd=trained,
    )
    for leftover in ("data/feedback", "reports/monitoring", "reports/experiment"):
        shutil.rmtree(trained / leftover, ignore_errors=True)
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == ""


def helper(project: Path, *args: str) -> str:
    """Run experiment_traffic.py with the project's Python; its output."""
    command = [project / ".venv/bin/python", TRAFFIC, DEFAULT_PACKAGE, *args]
    return run(command, cwd=project).stdout.strip()


def experiment(  # pylint: disable=too-many-arguments
    project: Path, tmp_path: Path, design: str, versions: tuple[str, str], start: str
) -> dict[str, str]:
    """Log an experiment's traffic, join its outcomes; the environment that reads that log."""
    log, labels = tmp_path / "log", tmp_path / f"labels-{start[:13]}.csv"
    helper(project, "traffic", design, *versions, start, str(log), str(labels))
    env = {"PREDICTION_LOG_DIR": str(log)}
    run(["make", "feedback", f"LABELS={labels}"], cwd=project, env=env)
    return env


def ab_report(project: Path, env: dict[str, str]) -> tuple[int, dict]:
    """`make ab-report`'s exit status (make says `Error N`) and ab.json."""
    done = run(["make", "ab-report"], cwd=project, env=env, check=False)
    status = 0 if done.returncode == 0 else int(done.stderr.rsplit("Error ", 1)[1].split()[0])
    report = json.loads((project / "reports/experiment/ab.json").read_text("utf-8"))
    assert report["message"] in done.stderr
    return status, report


def test_a_worse_challenger_then_a_better_one_then_too_few_labels(
    project: Path, tmp_path: Path
) -> None:
    """A challenger that learnt nothing is worse (3) and not promoted; against it as champion,
    the trained model is better (0) and promoted; twelve labelled rows of a model as good as
    the champion are not enough (4), and the report says how many are needed."""
    weak = helper(project, "register", "permuted")
    assert run(["make", "challenger", f"VERSION={weak}"], cwd=project).returncode == 0
    env = experiment(project, tmp_path, "shadow", ("1", weak), "2026-12-01T00:00:00+00:00")
    status, report = ab_report(project, env)
    assert (status, report["verdict"], report["design"]) == (3, "worse", "shadow")
    assert (
        report["variants"]["challenger"]["labelled"] == report["variants"]["champion"]["labelled"]
    )
    refused = run(["make", "promote-challenger"], cwd=project, check=False)
    assert refused.returncode != 0
    assert "challenger worse: " in refused.stderr and "champion stays" in refused.stderr

    helper(project, "champion", weak)
    assert run(["make", "challenger", "VERSION=1"], cwd=project).returncode == 0
    env = experiment(project, tmp_path, "ab", (weak, "1"), "2026-12-02T00:00:00+00:00")
    status, report = ab_report(project, env)
    assert (status, report["verdict"], report["design"]) == (0, "better", "ab")
    arms = report["variants"]
    assert (arms["champion"]["model_versions"], arms["challenger"]["model_versions"]) == (
        [weak],
        ["1"],
    )
    assert (
        0.3
        < arms["challenger"]["labelled"]
        / (arms["champion"]["labelled"] + arms["challenger"]["labelled"])
        < 0.7
    )  # half the buckets, by the request id's hash
    promoted = run(["make", "promote-challenger"], cwd=project)
    assert "challenger version 1 accuracy" in promoted.stderr and "promoted" in promoted.stderr
    history = run(["make", "model-history"], cwd=project).stdout
    lines = [line for line in history.splitlines() if line.startswith("  version")]
    assert lines[0].split()[:2] == ["version", "1"] and "make promote-challenger" in lines[0]
    assert f"replaced {weak}:" in lines[0]
    assert lines[1].split()[:2] == ["version", weak] and "e2e test: a weak champion" in lines[1]
    assert "'challenger': none" in history

    twin = helper(project, "register", "refit")
    run(["make", "challenger", f"VERSION={twin}"], cwd=project)
    log, labels = tmp_path / "small-log", tmp_path / "small.csv"
    helper(project, "traffic", "ab", "1", twin, "2026-12-03T00:00:00+00:00", str(log), str(labels))
    labels.write_text("\n".join(labels.read_text("utf-8").splitlines()[:13]) + "\n", "utf-8")
    env = {"PREDICTION_LOG_DIR": str(log)}
    run(["make", "feedback", f"LABELS={labels}"], cwd=project, env=env)
    status, report = ab_report(project, env)
    assert (status, report["verdict"]) == (4, "not_enough_evidence")
    assert report["message"].startswith("not enough evidence: 12 labelled rows")
    assert report["still_needed"] > 0
    assert f"({report['still_needed']} more)" in report["message"]
