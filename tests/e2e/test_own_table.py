"""A team's own table swapped into a default project by hand, and everything still works.

The swap touches only what docs/data.md and data/README.md tell a user to touch: the data file
(tests/e2e/tables.py's messy churn export), data/contract.yaml (its hand-written contract) and
params.yaml's ``prepare.raw_data``. Then the project's own commands must pass unchanged:
`make test` (its tests draw their rows from the contract), `make repro verify`, the export, the
service (its `/predict` equal to the champion that MLflow loads) and `make monitor`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.champion import assert_monitor_says_there_is_no_traffic
from tests.e2e.test_serve import _service
from tests.support import DEFAULT_PACKAGE, run, scaffold

# A project of its own, made once per module: on one xdist worker, beside the shared project.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("own-table")]

HERE = Path(__file__).parent
TABLES = HERE / "tables.py"
CONTRACT = HERE / "contracts" / "messy.yaml"
MODEL_NAME = DEFAULT_PACKAGE.replace("_", "-")
# The held-back rows as the service takes them (words stay words, gaps are null), and the
# champion's probabilities for them through MLflow's own loader.
CHAMPION_PROBE = """
import json, sys
import mlflow.sklearn
from {package}.core.frames import model_input, read_rows
rows = model_input(read_rows(sys.argv[1]))
model = mlflow.sklearn.load_model("models:/{name}@champion")
records = json.loads(rows.to_json(orient="records", force_ascii=False))
print(json.dumps({{"records": records, "probabilities": model.predict_proba(rows)[:, 1].tolist()}}))
"""


@pytest.fixture(scope="module")
def swapped(tmp_path_factory: pytest.TempPathFactory, table_python: Path) -> Path:
    """A new default project whose table, contract and raw-data setting a user replaced."""
    root = tmp_path_factory.mktemp("own-table")
    created = scaffold(
        "new", "-q", "churn", "--defaults", "-d", f"dvc_remote_url={root / 'remote'}", cwd=root
    )
    assert created.returncode == 0, created.stderr
    project = root / "churn"
    run([table_python, TABLES, "messy", project / "data" / "raw"], cwd=root)
    (project / "data" / "contract.yaml").write_text(
        CONTRACT.read_text(encoding="utf-8"), encoding="utf-8"
    )
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "raw_data: data/raw/heart.csv" in text
    params.write_text(
        text.replace("raw_data: data/raw/heart.csv", "raw_data: data/raw/messy.csv"),
        encoding="utf-8",
    )
    run(["make", "install"], cwd=project)
    return project


@pytest.fixture(scope="module")
def churn_champion(swapped: Path) -> Path:
    """The swapped project after `make repro`: its champion trained on the churn table."""
    run(["make", "repro"], cwd=swapped, timeout=900)
    return swapped


def test_the_swapped_project_passes_its_tests(swapped: Path) -> None:
    """`make test`: the project's own tests drew churn rows from the contract."""
    run(["make", "test"], cwd=swapped, timeout=900)
    docs = (swapped / "docs" / "data.md").read_text(encoding="utf-8")
    assert "`churned` is `yes`" in docs  # make test rebuilt the data dictionary


def test_the_pipeline_trains_and_verifies_on_the_churn_table(churn_champion: Path) -> None:
    """`make repro verify`: trained, gated and judged on the held-back churn rows."""
    swapped = churn_champion
    verified = run(["make", "verify"], cwd=swapped, timeout=300)
    assert "predictions matched to actuals" in verified.stdout
    metrics = json.loads((swapped / "reports" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["rows"] == 160  # 800 rows, none dropped (the gaps are allowed), 20 % held back
    assert metrics["roc_auc"] > 0.75  # the churn signal is real; chance is 0.5


def test_the_service_answers_like_the_registered_champion(churn_champion: Path) -> None:
    """Exported or from the registry: the champion's probabilities on the held-back rows, and
    one record with a gap and a region the contract does not list is scored, not refused."""
    swapped = churn_champion
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{swapped / 'mlflow.db'}"}
    probe = CHAMPION_PROBE.format(package=DEFAULT_PACKAGE, name=MODEL_NAME)
    held_back = swapped / "data" / "processed" / "test_features.csv"
    out = run([swapped / ".venv/bin/python", "-c", probe, held_back], cwd=swapped, env=env)
    expected = json.loads(out.stdout.strip().splitlines()[-1])
    records = expected["records"]
    run(["make", "export-model"], cwd=swapped, timeout=600)
    registry = {"MODEL_DIR": "", "MODEL_URI": f"models:/{MODEL_NAME}@champion"}
    exported = {"MODEL_DIR": str(swapped / "models" / "serving")}
    for settings in (exported, {**env, **registry}):
        with _service(swapped, settings) as service:
            status, answer = service.post("/predict", {"records": records})
            assert status == 200, answer
            served = [p["probability"] for p in answer["predictions"]]
            assert served == pytest.approx(expected["probabilities"], abs=1e-5)  # the export gate's
            odd = {**records[0], "age (years)": None, "région": "Wallonie"}
            status, answer = service.post("/predict", {"records": [odd]})
            assert status == 200, answer


def test_monitor_without_traffic_says_so(swapped: Path) -> None:
    """No prediction log yet: one line and the documented status (1), not a traceback."""
    assert_monitor_says_there_is_no_traffic(swapped)
