"""Multiclass and regression projects from scikit-learn's own tables, end to end.

`scaffold new --dataset` on wine (three cultivars: multiclass) and diabetes (a progression score:
regression), the task inferred and said; then the project's own commands, unchanged: `make test
repro verify`, `make export-model`, the service (its `/predict` equal to the champion that
MLflow loads, exported or from the registry) and `make monitor` without traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.e2e.champion import (
    assert_monitor_says_there_is_no_traffic,
    assert_service_answers_like_the_champion,
)
from tests.support import run, scaffold

# Projects of their own, made once per module: on one xdist worker, beside the shared project
# (no fixture here is named like a shared one: tests/conftest.py groups by those names).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("tasks")]

TABLES = Path(__file__).parent / "tables.py"


@dataclass(frozen=True)
class Table:
    """A table of tests/e2e/tables.py, the column to predict, the task and its gate metric."""

    name: str
    target: str
    task: str
    metric: str
    better_than: float  # what the gate metric beats on the held-back rows


TASKS = {
    "multiclass": Table("wine", "cultivar", "multiclass", "f1_macro", 0.9),
    "regression": Table("diabetes", "progression", "regression", "r2", 0.3),
}


@pytest.fixture(scope="module", params=list(TASKS))
def made(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, table_python: Path
) -> tuple[Table, Path, str]:
    """The project `scaffold new --dataset` made from the table (task inferred), what it said."""
    table: Table = TASKS[request.param]
    root = tmp_path_factory.mktemp(table.name)
    run([table_python, TABLES, table.name, root], cwd=root)
    done = scaffold(
        "new", table.name, "--defaults", "-d", f"dvc_remote_url={root / 'remote'}",
        "--dataset", root / f"{table.name}.csv", "--target", table.target,
        cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = run(["git", "status", "--porcelain"], cwd=root / table.name).stdout
    assert status == "", status  # the first commit holds it all
    return table, root / table.name, done.stderr


def test_the_task_is_inferred_said_and_rendered(made: tuple[Table, Path, str]) -> None:
    """The contract's task, the line saying why, params.yaml for it, the answer kept."""
    table, project, said = made
    assert f"task: {table.task} ('{table.target}'" in said
    contract = yaml.safe_load((project / "data" / "contract.yaml").read_text(encoding="utf-8"))
    assert contract["task"] == table.task
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["evaluate"]["metric"] == next(iter(_gate_metrics(table.task)))
    assert "threshold" not in params["evaluate"]
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (answers["task"], answers["package_name"]) == (table.task, table.name)


def _gate_metrics(task: str) -> tuple[str, ...]:
    return {
        "multiclass": ("f1_macro", "accuracy", "log_loss"),
        "regression": ("rmse", "mae", "r2"),
    }[task]


@pytest.fixture(scope="module")
def task_trained(made: tuple[Table, Path, str]) -> tuple[Table, Path]:
    """`make test repro verify` passed: the project's own tests, the pipeline, the verdict."""
    table, project, _ = made
    run(["make", "test", "repro"], cwd=project, timeout=1500)
    verified = run(["make", "verify"], cwd=project, timeout=300)
    assert "predictions matched to actuals" in verified.stdout
    return table, project


def test_the_pipeline_scores_and_gates_with_the_tasks_metrics(
    task_trained: tuple[Table, Path],
) -> None:
    """metrics.json has the task's scores, better than chance; the gate used the task's metric."""
    table, project = task_trained
    metrics = json.loads((project / "reports" / "metrics.json").read_text(encoding="utf-8"))
    assert set(_gate_metrics(table.task)) <= set(metrics)
    assert metrics[table.metric] > table.better_than, metrics
    promotion = json.loads((project / "reports" / "promotion.json").read_text(encoding="utf-8"))
    assert (promotion["metric"], promotion["promoted"]) == (_gate_metrics(table.task)[0], True)


def test_the_service_answers_like_the_registered_champion(task_trained: tuple[Table, Path]) -> None:
    """Exported or from the registry: the champion's answers on the held-back rows (each
    class's probability; a value)."""
    table, project = task_trained
    assert_service_answers_like_the_champion(project, table.task)


def test_monitor_without_traffic_says_so(made: tuple[Table, Path, str]) -> None:
    """No prediction log yet: one line and the documented status."""
    assert_monitor_says_there_is_no_traffic(made[1])
