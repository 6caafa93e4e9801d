"""`scaffold new --dataset`: a project made from a team's table in one command, then used.

One project (CI time is limited): scikit-learn's breast-cancer table, written by
tests/e2e/tables.py with the shared project's Python (scaffold has no pandas). The command
copies it into data/raw/, infers the contract with the project's own module, tracks the table
with DVC and commits; the project's own `make test` and `make repro` must then pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.champion import (
    assert_monitor_says_there_is_no_traffic,
    assert_service_answers_like_the_champion,
)
from tests.support import DEFAULT_PACKAGE, answered, git_files, run, scaffold

# Projects of their own, made once per module: on one xdist worker, beside the shared project
# (no fixture here is named like a shared one: tests/conftest.py groups by those names).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("dataset")]

TABLES = Path(__file__).parent / "tables.py"
MESSY_CONTRACT = Path(__file__).parent / "contracts" / "messy.yaml"


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory, table_python: Path) -> Path:
    """breast_cancer.csv: 569 tumours, 30 measurements and ``diagnosis``."""
    where = tmp_path_factory.mktemp("tables")
    run([table_python, TABLES, "breast_cancer", where], cwd=where)
    return where / "breast_cancer.csv"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, table: Path) -> tuple[Path, str]:
    """The project `scaffold new --dataset` made, and what the command said on stderr."""
    root = tmp_path_factory.mktemp("dataset")
    done = scaffold(
        "new", "cancer", "--defaults", "-d", f"dvc_remote_url={root / 'remote'}",
        "--dataset", table, "--target", "diagnosis", "--positive", "malignant",
        cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Checked here, before any test runs the pipeline in it: the first commit holds it all.
    status = run(["git", "status", "--porcelain"], cwd=root / "cancer").stdout
    assert status == "", status
    return root / "cancer", done.stderr


def test_the_project_is_made_from_the_table(made: tuple[Path, str]) -> None:
    """The table tracked by DVC, its contract committed, no heart data, the venv installed."""
    project, said = made
    assert "positive class: diagnosis = malignant (given by --positive)" in said
    assert "column 'mean radius'" not in said  # only left-out columns get a line
    committed = git_files(project)
    assert "data/raw/breast_cancer.csv.dvc" in committed
    assert "data/raw/breast_cancer.csv" not in committed  # DVC keeps it, not git
    assert not [path for path in committed if path.startswith("data/raw/heart")]
    assert not (project / "data" / "raw" / "heart.csv").exists()
    contract = yaml.safe_load((project / "data" / "contract.yaml").read_text(encoding="utf-8"))
    roles = [column["role"] for column in contract["columns"].values()]
    assert (roles.count("feature"), roles.count("id"), contract["target"]["positive"]) == (
        30,
        1,
        "malignant",
    )
    assert "`diagnosis` is `malignant`" in (project / "docs" / "data.md").read_text("utf-8")
    assert (project / ".venv" / "bin" / "python").exists()
    assert (answered(project, "project_name"), answered(project, "package_name")) == (
        "Cancer",
        "cancer",
    )  # named after its directory, not the starter's heart disease
    # `make contract` on the same table: it fits the contract in place, which stays as it is.
    before = (project / "data" / "contract.yaml").read_bytes()
    table = ["DATA=data/raw/breast_cancer.csv", "TARGET=diagnosis", "POSITIVE=malignant"]
    compared = run(["make", "contract", *table], cwd=project)
    assert "data/contract.yaml exists and the table fits it: kept" in compared.stderr
    assert (project / "data" / "contract.yaml").read_bytes() == before


@pytest.fixture(scope="module")
def table_trained(made: tuple[Path, str]) -> Path:
    """`make test repro verify`: the project's own tests, the pipeline, the held-back verdict."""
    project, _ = made
    run(["make", "test", "repro"], cwd=project, timeout=1500)
    verified = run(["make", "verify"], cwd=project, timeout=300)
    assert "predictions matched to actuals" in verified.stdout
    return project


def test_the_project_passes_its_tests_and_trains(table_trained: Path) -> None:
    """The pipeline learnt the table: ROC AUC on the held-back tumours."""
    metrics_file = table_trained / "reports" / "metrics.json"
    metrics = yaml.safe_load(metrics_file.read_text(encoding="utf-8"))
    assert metrics["roc_auc"] > 0.95, metrics


def test_the_service_answers_like_the_registered_champion(table_trained: Path) -> None:
    """Exported or from the registry: the champion's probabilities on the held-back rows."""
    assert_service_answers_like_the_champion(table_trained, "binary")


def test_monitor_without_traffic_says_so(made: tuple[Path, str]) -> None:
    """No prediction log yet: one line and the documented status."""
    assert_monitor_says_there_is_no_traffic(made[0])


def test_an_inference_that_fails_leaves_nothing(tmp_path: Path, table: Path) -> None:
    """An unknown target: one line from the inference, exit 1, no project, no staging."""
    done = scaffold(
        "new", "-q", "cancer", "--defaults", "--dataset", table, "--target", "outcome",
        cwd=tmp_path,
    )  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert lines[-1].startswith("error: infer_contract: --target: no column 'outcome'"), lines
    assert list(tmp_path.iterdir()) == []


def test_the_messy_table_gets_the_hand_contracts_kinds_and_roles(
    tmp_path: Path, default_project: Path
) -> None:
    """The churn export's inferred contract: the kinds and roles written by hand, and the
    hand contract, kept in place, fits the table (exit 0, untouched)."""
    python = default_project / ".venv" / "bin" / "python"
    run([python, TABLES, "messy", tmp_path], cwd=tmp_path)
    infer = [python, "-m", f"{DEFAULT_PACKAGE}.core.infer_contract", tmp_path / "messy.csv"]
    options = ["--target", "churned", "--id", "Customer ID", "--output"]
    run([*infer, *options, tmp_path / "inferred.yaml"], cwd=tmp_path)
    inferred = yaml.safe_load((tmp_path / "inferred.yaml").read_text(encoding="utf-8"))
    hand = yaml.safe_load(MESSY_CONTRACT.read_text(encoding="utf-8"))
    assert {
        name: (column["role"], column["kind"]) for name, column in inferred["columns"].items()
    } == {name: (column["role"], column["kind"]) for name, column in hand["columns"].items()}
    assert inferred["target"]["positive"] == hand["target"]["positive"]
    kept = tmp_path / "hand.yaml"
    kept.write_bytes(MESSY_CONTRACT.read_bytes())
    compared = run([*infer, *options, kept], cwd=tmp_path)
    assert "hand.yaml exists and the table fits it: kept" in compared.stderr
    assert kept.read_bytes() == MESSY_CONTRACT.read_bytes()
