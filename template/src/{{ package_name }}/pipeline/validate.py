"""Stage 2, validate: check the prepared files against the schemas before anything trains.

Checks types, clinically plausible ranges, the categorical code sets, missing values and
duplicate rows of ``train.csv``, ``test_features.csv`` and ``test_labels.csv`` (all problems at
once), and that the held-back labels belong to the test features and to no training row. On
failure it prints one summary, a line per failing column and check with its rows, e.g.
``validate: data/processed/train.csv: column 'age' fails in_range(0, 120) at rows 5, 17``, and
exits with status 1. On success it writes ``reports/validation.json``, which train depends on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ..cli import stage_main
from ..core.checks import (
    features_schema,
    find_problems,
    labels_schema,
)
from ..core.frames import read_rows
from ..core.schema import (
    ID,
)
from ..errors import StageError
from ..files import write_text
from ..settings import Settings

LOG = logging.getLogger(__name__)


def read_table(path: Path, label: str) -> pd.DataFrame:
    """A prepared CSV file, read as written; a missing or empty file is a :class:`StageError`."""
    if not path.is_file():
        raise StageError(f"{label}: file not found (run the prepare stage first)")
    try:
        return read_rows(path)
    except pd.errors.EmptyDataError:
        raise StageError(f"{label}: file is empty") from None


def count_checks(schema: pa.DataFrameSchema) -> int:
    """How many checks a schema applies: type, completeness and value checks per column."""
    columns = schema.columns.values()
    per_column = sum(2 + len(column.checks) + int(column.unique) for column in columns)
    return per_column + int(bool(schema.unique)) + int(schema.strict is True)


def id_problems(train: pd.DataFrame, features: pd.DataFrame, labels: pd.DataFrame) -> list[str]:
    """Cross-file checks: labels match the test features one to one and never a training id."""
    problems: list[str] = []
    if ID not in train or ID not in features or ID not in labels:
        return problems
    feature_ids, label_ids = set(features[ID]), set(labels[ID])
    if feature_ids != label_ids:
        problems.append(
            f"test_labels.csv and test_features.csv disagree on ids: "
            f"{len(label_ids - feature_ids)} labels without features, "
            f"{len(feature_ids - label_ids)} features without labels"
        )
    leaked = sorted(set(train[ID]) & feature_ids)
    if leaked:
        shown = ", ".join(str(i) for i in leaked[:10])
        problems.append(f"ids both in train.csv and the held-back test set: {shown}")
    return problems


def validate(settings: Settings) -> dict[str, Any]:
    """Validate the three files; raise one :class:`StageError` listing every problem."""
    plan = (
        (settings.train_csv, features_schema(with_target=True)),
        (settings.test_features_csv, features_schema()),
        (settings.test_labels_csv, labels_schema()),
    )
    tables: dict[str, pd.DataFrame] = {}
    lines: list[str] = []
    files: dict[str, dict[str, int]] = {}
    for path, schema in plan:
        label = settings.relative(path)
        table = read_table(path, label)
        tables[path.name] = table
        lines.extend(f"{label}: {problem.describe()}" for problem in find_problems(table, schema))
        files[label] = {"rows": len(table), "columns": table.shape[1]}
    lines.extend(
        id_problems(tables["train.csv"], tables["test_features.csv"], tables["test_labels.csv"])
    )
    if lines:
        lines.append(f"{len(lines)} problem(s); rows count data rows from 1 (row N is line N + 1)")
        raise StageError("\n".join(lines))
    checks = sum(count_checks(schema) for _, schema in plan) + 2
    report = {"status": "passed", "checks_passed": checks, "files": files}
    write_text(settings.validation_report, json.dumps(report, indent=2) + "\n")
    LOG.info(
        "%d checks passed on %s",
        checks,
        ", ".join(f"{name} ({info['rows']} rows)" for name, info in files.items()),
    )
    return report


def main(argv: list[str] | None = None) -> int:
    """The stage's command line (no options but ``--verbose``); returns the exit status."""
    return stage_main("validate", __doc__, argv, lambda settings, _params: validate(settings))


if __name__ == "__main__":
    raise SystemExit(main())
