"""The default project's results stay those recorded in heart_baseline.json.

A refactoring of the generated project (its schema, its stages) must not move a metric or a
single probability: both are compared with the values recorded from the template before the
refactoring (`python -m tests.e2e.baseline PROJECT` re-records them; see tests/e2e/baseline.py).
Two runs of the same template agree exactly (seeded split and model, one thread), so the
tolerance only absorbs the last bit of a float printed and parsed again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.baseline import BASELINE, held_back_ids

pytestmark = pytest.mark.e2e

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads(BASELINE.read_text(encoding="utf-8"))
    return recorded


def test_metrics_are_the_recorded_ones(trained: Path, baseline: dict[str, Any]) -> None:
    """Every recorded metric is unchanged (metrics added since, e.g. log loss, are new keys)."""
    metrics = json.loads((trained / "reports/metrics.json").read_text(encoding="utf-8"))
    recorded = {name: metrics[name] for name in baseline["metrics"]}
    assert recorded == pytest.approx(baseline["metrics"], rel=0, abs=TOLERANCE)


def test_champion_scores_the_held_back_rows_as_recorded(
    trained: Path,
    held_back: tuple[list[dict[str, float]], list[float]],
    baseline: dict[str, Any],
) -> None:
    _, probabilities = held_back
    assert held_back_ids(trained) == baseline["held_back_ids"]  # the same split
    assert probabilities == pytest.approx(baseline["probabilities"], rel=0, abs=TOLERANCE)
