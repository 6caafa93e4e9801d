"""Verify generated predictions against the held-back actuals.

Usage, from the project root::

    python -m <package>.pipeline.verify --predictions P.csv --actuals A.csv
        [--min-accuracy 0.8] [--output METRICS.json]

Joins the predictions (the id and the task's answer columns, as written by ``predict``) with
the actuals (the id and the target, e.g. data/processed/test_labels.csv) on the id and prints
the task's scores (:mod:`..core.tasks`). Exits with status 1 when the rows do not match up (an
id missing on either side, or repeated), or when accuracy (a classifier's) is below
``--min-accuracy``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..cli import make_parser, parse_args, run_stage
from ..core.frames import read_rows
from ..core.schema import (
    ID,
    TARGET,
)
from ..core.tasks import TASK
from ..errors import StageError

PREDICTION_COLUMNS = (ID, *TASK.answer_columns())
ACTUAL_COLUMNS = (ID, TARGET)


def read(path: Path, columns: tuple[str, ...], role: str) -> pd.DataFrame:
    """A CSV file with the given columns and unique ids."""
    if not path.is_file():
        raise StageError(f"{role} file not found: {path}")
    frame = read_rows(path)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise StageError(f"{path} lacks the {role} column(s): {', '.join(missing)}")
    repeated = sorted(frame.loc[frame[ID].duplicated(), ID].unique().tolist())
    if repeated:
        raise StageError(f"{path}: ids repeated: {_some(repeated)}")
    return frame[list(columns)]


def _some(ids: list[Any], limit: int = 5) -> str:
    """A few ids for a message, e.g. ``3, 8, 12 and 4 more``."""
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def match(predictions: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Predictions joined with actuals on ``id``; every id must appear on both sides."""
    unmatched_predictions = sorted(set(predictions[ID]) - set(actuals[ID]))
    unmatched_actuals = sorted(set(actuals[ID]) - set(predictions[ID]))
    if unmatched_predictions or unmatched_actuals:
        parts = []
        if unmatched_predictions:
            parts.append(
                f"{len(unmatched_predictions)} prediction(s) without an actual "
                f"(ids {_some(unmatched_predictions)})"
            )
        if unmatched_actuals:
            parts.append(
                f"{len(unmatched_actuals)} actual(s) without a prediction "
                f"(ids {_some(unmatched_actuals)})"
            )
        raise StageError("rows do not match up: " + "; ".join(parts))
    return predictions.merge(actuals, on=ID, validate="one_to_one")


def verify(
    predictions_path: Path,
    actuals_path: Path,
    min_accuracy: float | None = None,
    output: Path | None = None,
) -> dict[str, Any]:
    """Score the predictions; raise :class:`StageError` on mismatch or low accuracy."""
    if min_accuracy is not None and TASK.name == "regression":
        raise StageError("--min-accuracy: a regression has no accuracy (its scores: rmse, mae, r2)")
    joined = match(
        read(predictions_path, PREDICTION_COLUMNS, "predictions"),
        read(actuals_path, ACTUAL_COLUMNS, "actuals"),
    )
    metrics = TASK.metrics(joined[TARGET], TASK.read_predictions(joined))
    print(f"verify: {len(joined)} predictions matched to actuals; {TASK.summary(metrics)}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if min_accuracy is not None and metrics["accuracy"] < min_accuracy:
        raise StageError(f"accuracy {metrics['accuracy']:.3f} is below {min_accuracy}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    parser.add_argument("--predictions", required=True, type=Path, help="predictions CSV")
    parser.add_argument("--actuals", required=True, type=Path, help="actuals CSV (id, target)")
    parser.add_argument("--min-accuracy", type=float, help="fail below this accuracy")
    parser.add_argument("--output", type=Path, help="also write the metrics to this JSON file")
    args = parse_args(parser, argv)
    return run_stage(
        "verify",
        lambda: verify(args.predictions, args.actuals, args.min_accuracy, args.output),
    )


if __name__ == "__main__":
    raise SystemExit(main())
