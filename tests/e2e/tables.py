"""Tables that are not the heart-disease example, for projects made from a team's own data.

- ``breast_cancer``: scikit-learn's copy of the Wisconsin diagnostic table (it ships in the
  package; the ``fetch_*`` sets download and fail offline). Binary, 30 numeric columns whose
  names hold spaces.
- ``wine``: scikit-learn's wine recognition table: multiclass (three cultivars), 13 numeric
  columns, one of them named ``od280/od315_of_diluted_wines``.
- ``diabetes``: scikit-learn's diabetes table (unscaled copy): regression of a disease
  progression score from 10 columns, ``sex`` coded 1/2.
- ``wide``: 240 columns of our own making, seeded: 160 numeric (some with gaps), 64 string
  categories, 16 True/False columns, and a yes/no target that a dozen of them drive.
- ``messy``: a churn table of our own making, seeded: string categories (one with non-ASCII
  values), missing values, a True/False column, an id of strings, odd column names, a free-text
  and a date column, and an imbalanced yes/no target.

Run by a Python with a generated project's pandas and scikit-learn (the scaffolder has no
pandas, by design), e.g. the ``table_python`` fixture's or a project's own:
``PYTHON tests/e2e/tables.py NAME DIR`` writes ``DIR/NAME.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

MESSY_ROWS = 800


def breast_cancer() -> pd.DataFrame:
    """569 tumours, 30 measurements and ``diagnosis`` (malignant or benign)."""
    from sklearn.datasets import load_breast_cancer  # pylint: disable=import-outside-toplevel

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = np.asarray(bunch.target_names)[bunch.target]
    return frame


def wine() -> pd.DataFrame:
    """178 wines, 13 measurements and ``cultivar`` (class_0, class_1 or class_2)."""
    from sklearn.datasets import load_wine  # pylint: disable=import-outside-toplevel

    bunch = load_wine(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["cultivar"] = np.asarray(bunch.target_names)[bunch.target]
    return frame


def diabetes() -> pd.DataFrame:
    """442 patients, 10 baseline variables and ``progression`` a year later (25 to 346)."""
    from sklearn.datasets import load_diabetes  # pylint: disable=import-outside-toplevel

    bunch = load_diabetes(as_frame=True, scaled=False)
    return bunch.frame.rename(columns={"target": "progression"})


def messy(rows: int = MESSY_ROWS, seed: int = 3) -> pd.DataFrame:
    """A customer churn table with the usual blemishes of real exports (see the docstring)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2])
    region = rng.choice(["Île-de-France", "Bayern", "Kraków", "Østfold", "Lombardia"], rows)
    age = rng.normal(45, 14, rows).clip(18, 90).round()
    charges = (rng.gamma(4, 15, rows) + (plan == "premium") * 40).round(2)
    calls = rng.poisson(1.5, rows)
    auto_renew = rng.random(rows) < 0.6
    risk = (
        0.6 * calls
        - 1.2 * auto_renew
        + (plan == "basic") * 0.8
        - (age - 45) / 30
        + rng.normal(0, 1, rows)
    )
    churned = np.where(risk > np.quantile(risk, 0.75), "yes", "no")
    start = np.datetime64("2021-01-01")
    frame = pd.DataFrame(
        {
            "Customer ID": [f"C-{index:05d}" for index in range(1, rows + 1)],
            "age (years)": age,
            "monthly charges €": charges,
            "plan": plan,
            "région": region,
            "auto-renew": auto_renew,
            "support calls": calls,
            "notes": [f"called about invoice {rng.integers(1000, 9999)}" for _ in range(rows)],
            "signup date": (start + rng.integers(0, 1200, rows).astype("timedelta64[D]")).astype(
                str
            ),
            "churned": churned,
        }
    )
    frame.loc[rng.random(rows) < 0.05, "age (years)"] = np.nan
    frame.loc[rng.random(rows) < 0.03, "région"] = None
    return frame


def wide(rows: int = 600, seed: int = 11) -> pd.DataFrame:
    """A wide export: numbers, words and flags by the hundred, and a few that matter."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    score = rng.normal(0, 1, rows)
    for index in range(160):
        values = rng.normal(50, 10, rows).round(2)
        if index < 12:
            score += (values - 50) / 10
        if index % 10 == 0:
            values = np.where(rng.random(rows) < 0.04, np.nan, values)
        columns[f"measure {index:03d}"] = values
    for index in range(64):
        words = rng.choice([f"level-{level}" for level in range(5)], rows)
        if index < 4:
            score += (words == "level-0") * 1.5
        columns[f"category_{index:02d}"] = words
    for index in range(16):
        columns[f"flag-{index:02d}"] = rng.random(rows) < 0.5
    columns["outcome"] = np.where(score > np.median(score), "yes", "no")
    return pd.DataFrame(columns)


TABLES = {
    "breast_cancer": breast_cancer,
    "wine": wine,
    "diabetes": diabetes,
    "messy": messy,
    "wide": wide,
}


def write(name: str, directory: Path) -> Path:
    """Write table ``name`` as CSV into ``directory``; returns the file."""
    path = directory / f"{name}.csv"
    TABLES[name]().to_csv(path, index=False)
    return path


if __name__ == "__main__":
    print(write(sys.argv[1], Path(sys.argv[2])))
