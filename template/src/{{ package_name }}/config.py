"""Pipeline parameters (params.yaml) and the files each stage reads and writes.

The locations below are the ones dvc.yaml declares. Every stage takes them from
:class:`Artifacts`, built from the project root that the ``paths`` module finds, so that the
pipeline, the stages and the tests (which point the root at a temporary directory) agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import StageError
from .paths import (
    ProjectPaths,
    get_paths,
)

PARAMS_FILE = "params.yaml"
# The raw table when params.yaml's prepare.raw_data leaves it out (the starter data set).
DEFAULT_RAW_DATA = "data/raw/heart.csv"
# What evaluate.alias and evaluate.threshold mean when params.yaml leaves them out.
DEFAULT_ALIAS = "champion"
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Artifacts:  # pylint: disable=too-many-instance-attributes  # a record of file paths
    """Every file of the pipeline, as absolute paths below one project root."""

    root: Path
    params: Path
    raw_csv: Path
    train_csv: Path
    test_features_csv: Path
    test_labels_csv: Path
    validation_report: Path
    model: Path
    run_info: Path
    metrics: Path
    plots: Path
    roc_plot: Path
    confusion_plot: Path
    promotion_report: Path

    @classmethod
    def from_paths(cls, paths: ProjectPaths) -> Artifacts:
        """Lay the pipeline's files out in the project's well-known directories."""
        plots = paths.reports / "plots"
        return cls(
            root=paths.root,
            params=paths.root / PARAMS_FILE,
            raw_csv=paths.root / raw_data_setting(paths.root / PARAMS_FILE),
            train_csv=paths.processed_data / "train.csv",
            test_features_csv=paths.processed_data / "test_features.csv",
            test_labels_csv=paths.processed_data / "test_labels.csv",
            validation_report=paths.reports / "validation.json",
            model=paths.models / "model.joblib",
            run_info=paths.models / "run.json",
            metrics=paths.reports / "metrics.json",
            plots=plots,
            roc_plot=plots / "roc.json",
            confusion_plot=plots / "confusion.csv",
            promotion_report=paths.reports / "promotion.json",
        )

    @classmethod
    def discover(cls) -> Artifacts:
        """The artifacts below the project root that ``paths.get_paths()`` finds."""
        return cls.from_paths(get_paths())

    def relative(self, path: Path) -> str:
        """``path`` relative to the project root when below it, for short messages."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def raw_data_setting(params_file: Path) -> str:
    """``prepare.raw_data`` as written in params.yaml, else the default: where the raw table is.

    Read leniently (a missing or broken file gives the default): the stages check the whole
    file before they use the path, so a mistake still stops them with its one line.
    """
    try:
        params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
        value = params["prepare"]["raw_data"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return DEFAULT_RAW_DATA
    return value if isinstance(value, str) and value else DEFAULT_RAW_DATA


def load_params(path: Path) -> dict[str, Any]:
    """Read the parameters file; a missing or malformed file is a :class:`StageError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StageError(f"parameters file not found: {path}") from None
    try:
        params = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise StageError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(params, dict):
        raise StageError(f"{path} must hold a mapping of sections, e.g. 'train:'")
    return params
