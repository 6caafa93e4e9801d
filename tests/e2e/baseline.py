"""Record the default project's results, which `test_baseline.py` holds every change to.

Run once from a default project that `make install repro` trained at the commit whose results
are the reference (the champion is version 1):

    .venv/bin/python -m tests.e2e.baseline PROJECT

It rewrites `heart_baseline.json` beside this file: `reports/metrics.json` as written, and the
champion's probability for each held-back test row, computed as the `held_back` fixture does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.e2e.conftest import CHAMPION_PROBE
from tests.support import DEFAULT_PACKAGE, run

BASELINE = Path(__file__).with_name("heart_baseline.json")


def held_back_ids(project: Path) -> list[int]:
    """The ids of the held-back test rows, in the order of test_features.csv."""
    lines = (project / "data/processed/test_features.csv").read_text(encoding="utf-8")
    return [int(line.split(",", 1)[0]) for line in lines.splitlines()[1:]]


def champion_probabilities(project: Path) -> list[float]:
    """The champion's probabilities for the held-back rows (MLflow's own loader)."""
    path = project / "data/processed/test_features.csv"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    probe = CHAMPION_PROBE.format(name=DEFAULT_PACKAGE.replace("_", "-"))
    out = run([project / ".venv/bin/python", "-c", probe, path], cwd=project, env=env).stdout
    return [float(p) for p in json.loads(out.strip().splitlines()[-1])]


def record(project: Path) -> dict[str, object]:
    """What the baseline file holds for a trained project."""
    metrics = json.loads((project / "reports/metrics.json").read_text(encoding="utf-8"))
    return {
        "metrics": metrics,
        "held_back_ids": held_back_ids(project),
        "probabilities": champion_probabilities(project),
    }


if __name__ == "__main__":
    BASELINE.write_text(json.dumps(record(Path(sys.argv[1])), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {BASELINE}")
