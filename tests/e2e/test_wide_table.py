"""A wide table (240 columns: numbers with gaps, words, flags) through the pipeline.

Real exports run to hundreds of columns. The shared project's installed package runs on a
project root of its own (the package's ROOT variable): the contract inferred from the table,
then every stage, the ONNX gate at registration and the batch verification, as `make` would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

TABLES = Path(__file__).parent / "tables.py"
STAGES = ("prepare", "validate", "train", "evaluate")


def test_a_table_of_240_columns_trains_registers_and_verifies(
    tmp_path: Path, default_project: Path
) -> None:
    python = default_project / ".venv" / "bin" / "python"
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    run([python, TABLES, "wide", raw], cwd=tmp_path)
    params = (default_project / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(
        params.replace("data/raw/heart.csv", "data/raw/wide.csv"), encoding="utf-8"
    )
    # The root's own SQLite store: an empty variable is no tracking server.
    env = {f"{DEFAULT_PACKAGE.upper()}_ROOT": str(tmp_path), "MLFLOW_TRACKING_URI": ""}
    module = f"{DEFAULT_PACKAGE}.core.infer_contract"
    run([python, "-m", module, "data/raw/wide.csv", "--target", "outcome"], cwd=tmp_path, env=env)
    contract = yaml.safe_load((tmp_path / "data" / "contract.yaml").read_text(encoding="utf-8"))
    kinds = [column["kind"] for column in contract["columns"].values()]
    assert (kinds.count("numeric"), kinds.count("categorical"), kinds.count("boolean")) == (
        161,  # 160 measures and the numbered id
        65,  # 64 word columns and the target
        16,
    )
    said = ""
    for stage in STAGES:
        done = run([python, "-m", f"{DEFAULT_PACKAGE}.pipeline.{stage}"], cwd=tmp_path, env=env)
        said += done.stderr
    assert "registration: model.onnx goes to the registry" in said, said
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["rows"] == 120
    assert metrics["roc_auc"] > 0.75  # a dozen of the 240 columns drive the outcome
    scored = tmp_path / "predictions.csv"
    features = "data/processed/test_features.csv"
    predict = [python, "-m", f"{DEFAULT_PACKAGE}.pipeline.predict", "--input", features]
    run([*predict, "--output", scored], cwd=tmp_path, env=env)
    verify = [python, "-m", f"{DEFAULT_PACKAGE}.pipeline.verify", "--predictions", scored]
    verified = run([*verify, "--actuals", "data/processed/test_labels.csv"], cwd=tmp_path, env=env)
    assert "120 predictions matched to actuals" in verified.stdout
