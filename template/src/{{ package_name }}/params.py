"""The typed model of params.yaml: every stage checks the whole file once, before it starts.

Types are strict (``5`` is not a string, ``true`` is not a number, ``"0.5"`` is not a number)
and every range is declared on its field, so a bad value fails in one line that names its key,
its value and what is allowed, e.g. ``params.yaml: train.logistic_regression.C = -5: must be
a number > 0``, before any data is written or any MLflow run starts. Unknown keys are refused
the same way: a misspelt key would otherwise be ignored without a word. To tune another
hyperparameter, add a field to its model below (scikit-learn receives every field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import NoneType
from typing import Annotated, Any, Literal, TypeGuard, get_args, get_origin

import annotated_types
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from .errors import StageError

PARAMS_FILE = "params.yaml"
# The raw table when prepare.raw_data is left out (the starter data set).
DEFAULT_RAW_DATA = "data/raw/heart.csv"
# The alias of the champion model when evaluate.alias is left out.
DEFAULT_ALIAS = "champion"

# Every task's models and gate metrics (core/tasks says which belong to the contract's task).
ModelName = Literal["logistic_regression", "ridge", "random_forest", "hist_gradient_boosting"]
GateMetric = Literal[
    "roc_auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "brier",
    "f1_macro",
    "rmse",
    "mae",
    "r2",
]
# The metrics an A/B or shadow experiment compares (monitoring/experiment.py says which
# belong to which task).
ExperimentMetric = Literal["accuracy", "log_loss", "roc_auc", "mae", "rmse"]
RAW_SUFFIXES = (".csv", ".parquet")
# numpy and scikit-learn take seeds from 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1
# MLflow's rule for alias names, and the names it reserves ("latest", "v1", "V2", ...).
ALIAS_PATTERN = re.compile(r"[\w-]+")
RESERVED_ALIAS = re.compile(r"latest|[vV]\d+", re.IGNORECASE)


def _alias(value: str) -> str:
    if not ALIAS_PATTERN.fullmatch(value) or RESERVED_ALIAS.fullmatch(value):
        raise ValueError("not an alias")
    return value


class Section(BaseModel):
    """A mapping of params.yaml: strict types, no unknown keys, read-only once checked."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _raw_data(value: str) -> str:
    path = Path(value)
    if path.is_absolute() or ".." in path.parts or path.parts[:1] != ("data",):
        raise ValueError("must be a path below data/, relative to the project root")
    if path.suffix.lower() not in RAW_SUFFIXES:
        raise ValueError(f"must end in {' or '.join(RAW_SUFFIXES)}")
    return value


class PrepareParams(Section):
    """``prepare``: the raw table, and the seeded, stratified train/test split."""

    raw_data: Annotated[str, AfterValidator(_raw_data)] = DEFAULT_RAW_DATA
    seed: int = Field(ge=0, le=MAX_SEED)
    test_size: float = Field(gt=0, lt=1)


class LogisticRegressionParams(Section):
    """``train.logistic_regression``: scikit-learn's LogisticRegression (its defaults)."""

    C: float = Field(default=1.0, gt=0)  # scikit-learn's name
    max_iter: int = Field(default=100, ge=1)


class RidgeParams(Section):
    """``train.ridge``: scikit-learn's Ridge regression (its defaults)."""

    alpha: float = Field(default=1.0, ge=0)


class HistGradientBoostingParams(Section):
    """``train.hist_gradient_boosting``: scikit-learn's HistGradientBoosting{Classifier,
    Regressor} (its defaults; made for large tables)."""

    max_iter: int = Field(default=100, ge=1)
    learning_rate: float = Field(default=0.1, gt=0)
    max_leaf_nodes: int | None = Field(default=31, ge=2)
    l2_regularization: float = Field(default=0.0, ge=0)


class RandomForestParams(Section):
    """``train.random_forest``: scikit-learn's RandomForest{Classifier,Regressor} (defaults)."""

    n_estimators: int = Field(default=100, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    min_samples_leaf: int = Field(default=1, ge=1)


class TrainParams(Section):
    """``train``: the model, its seed and folds, and each model's hyperparameters."""

    model: ModelName
    seed: int = Field(ge=0, le=MAX_SEED)
    cv_folds: int = Field(ge=2)
    logistic_regression: LogisticRegressionParams = LogisticRegressionParams()
    ridge: RidgeParams = RidgeParams()
    random_forest: RandomForestParams = RandomForestParams()
    hist_gradient_boosting: HistGradientBoostingParams = HistGradientBoostingParams()

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The chosen model's section, as keyword arguments of its scikit-learn class."""
        chosen: Section = getattr(self, self.model)
        return chosen.model_dump()


class EvaluateParams(Section):
    """``evaluate``: the promotion gate (with ``challenger_on_reject``, a candidate it rejects
    takes the ``challenger`` alias), and a binary task's decision threshold (none given: 0.5;
    the other tasks have none)."""

    alias: Annotated[str, AfterValidator(_alias)] = Field(
        default=DEFAULT_ALIAS,
        description="letters, digits, _ or - (MLflow reserves latest and v<number>)",
    )
    metric: GateMetric
    min_improvement: float = Field(ge=0)
    threshold: float | None = Field(default=None, gt=0, lt=1, description="a number > 0 and < 1")
    challenger_on_reject: bool = False


class MlflowParams(Section):
    """``mlflow``: the tracking store (empty: the environment's, else the project's SQLite)."""

    tracking_uri: str = ""


class MonitorParams(Section):  # pylint: disable=too-many-instance-attributes  # thresholds
    """``monitor``: the prediction log, its windows and the drift and performance thresholds
    (``make monitor`` and ``make feedback``; never a DVC stage: the log changes all the time)."""

    log_dir: str = Field(
        default="logs/predictions", min_length=1, description="a directory path, not empty"
    )
    window_days: int = Field(default=7, ge=1)
    min_records: int = Field(default=50, ge=10)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    psi_threshold: float = Field(default=0.2, gt=0)
    psi_bins: int = Field(default=10, ge=2, le=50)
    min_expected: float = Field(default=5.0, gt=0)
    max_duplicate_rate: float = Field(default=0.1, ge=0, le=1)
    max_out_of_schema_rate: float = Field(default=0.01, ge=0, le=1)
    max_positive_rate_shift: float = Field(default=0.15, gt=0, le=1)
    max_class_share_shift: float = Field(default=0.1, gt=0, le=1)
    max_prediction_psi: float = Field(default=0.2, gt=0)
    performance_window_days: int = Field(default=30, ge=1)
    min_labelled: int = Field(default=30, ge=1)
    min_roc_auc: float = Field(default=0.7, ge=0, le=1)
    max_brier_score: float = Field(default=0.25, gt=0, le=1)
    min_f1_macro: float = Field(default=0.6, ge=0, le=1)
    max_rmse: float | None = Field(default=None, gt=0)


class ExperimentParams(Section):
    """``experiment``: the A/B or shadow comparison of the challenger with the champion
    (``make ab-report``): the test's level, the power wanted and the smallest difference
    worth detecting on the primary metric (in its unit; none given: the task's first)."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    power: float = Field(default=0.8, gt=0, lt=1)
    min_effect: float = Field(default=0.02, gt=0)
    primary_metric: ExperimentMetric | None = Field(
        default=None,
        description="one of accuracy, log_loss, roc_auc, mae, rmse, or null (the task's first)",
    )


class AirflowPodParams(Section):
    """``airflow.kubernetes``: the pods of ``runner: kubernetes``: the training image, their
    namespace, the PersistentVolumeClaim holding the project's clone (the stages' shared
    workspace), an optional Secret whose keys become environment variables (MLflow and
    object-store credentials) and an optional claim holding the service's prediction log."""

    image: str = ""
    namespace: str = Field(default="default", min_length=1)
    workspace_claim: str = ""
    secret: str = ""
    prediction_log_claim: str = ""


class AirflowParams(Section):
    """``airflow``: the Airflow DAG's schedule (a cron expression or a preset such as
    ``@weekly``; null: runs only when triggered), how often a failed task is retried, after
    how many minutes, and where its tasks run: ``local`` (the project's venv) or
    ``kubernetes`` (a pod per task, see ``kubernetes``). Used only with the Airflow option."""

    schedule: str | None = "@weekly"
    retries: int = Field(default=1, ge=0)
    retry_delay_minutes: int = Field(default=5, ge=0)
    runner: Literal["local", "kubernetes"] = "local"
    kubernetes: AirflowPodParams = AirflowPodParams()


class CanaryParams(Section):
    """``canary``: how ``make canary-check`` compares a canary release with the stable track
    (Prometheus series by ``track``; ``monitoring/canary.py``)."""

    window_seconds: int = Field(default=1800, ge=10)
    step_seconds: int = Field(default=60, ge=1)
    min_samples: int = Field(default=10, ge=3)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    error_margin: float = Field(default=0.01, gt=0, le=1)
    latency_margin: float = Field(default=0.2, gt=0)
    selector: str = ""


class Params(Section):
    """The whole of params.yaml."""

    prepare: PrepareParams
    train: TrainParams
    evaluate: EvaluateParams
    mlflow: MlflowParams = MlflowParams()
    monitor: MonitorParams = MonitorParams()
    experiment: ExperimentParams = ExperimentParams()
    airflow: AirflowParams = AirflowParams()
    canary: CanaryParams = CanaryParams()

    @classmethod
    def check(cls, values: Mapping[str, Any]) -> Params:
        """The parameters, checked; a :class:`StageError` with one line per problem if not."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            problems = [describe_problem(problem) for problem in error.errors()]
            raise StageError("\n".join(problems)) from None


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


def read_params(path: Path) -> Params:
    """Read and check params.yaml: one :class:`StageError` line per problem."""
    return Params.check(load_params(path))


# ── One line per problem ──────────────────────────────────────────────────────────────────
TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
BOUNDS = {
    annotated_types.Gt: ("gt", ">"),
    annotated_types.Ge: ("ge", ">="),
    annotated_types.Lt: ("lt", "<"),
    annotated_types.Le: ("le", "<="),
}


def describe_problem(problem: Mapping[str, Any]) -> str:
    """``params.yaml: <key path> = <value>: <what is allowed>`` for one pydantic error."""
    loc = tuple(str(part) for part in problem["loc"])
    key = ".".join(loc)
    if problem["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        where = ".".join(loc[:-1]) or PARAMS_FILE
        allowed = ", ".join(parent.model_fields) if parent else "nothing"
        shown = _shown(problem["input"])
        return f"{PARAMS_FILE}: {key} = {shown}: unknown key ({where} takes {allowed})"
    field = _field_at(loc)
    allowed = _allowed(field) if field is not None else problem["msg"]
    if problem["type"] == "missing":
        return f"{PARAMS_FILE}: {key} is missing: must be {allowed}"
    value = problem["input"]
    line = f"{PARAMS_FILE}: {key} = {_shown(value)}: must be {allowed}"
    if isinstance(value, str) and _is_number(value):
        line += " (YAML read text: no quotes, and exponents with a dot, e.g. 1.0e-3)"
    return line


def _model_at(loc: tuple[str, ...]) -> type[Section] | None:
    """The section model at a key path (``()`` is the whole file), if the path leads to one."""
    model: type[Section] = Params
    for name in loc:
        field = model.model_fields.get(name)
        if field is None or not _is_section(field.annotation):
            return None
        model = field.annotation
    return model


def _field_at(loc: tuple[str, ...]) -> FieldInfo | None:
    """The field a key path ends in (pydantic may add a type's name after it)."""
    model: type[Section] | None = Params
    field = None
    for name in loc:
        if model is None:
            break
        field = model.model_fields.get(name)
        if field is None:
            return None
        model = field.annotation if _is_section(field.annotation) else None
    return field


def _is_section(annotation: object) -> TypeGuard[type[Section]]:
    return isinstance(annotation, type) and issubclass(annotation, Section)


def _allowed(field: FieldInfo) -> str:
    """What a field takes, from its type and bounds, e.g. ``an integer >= 1, or null``."""
    if field.description:
        return field.description
    annotation = field.annotation
    if _is_section(annotation):
        return f"a mapping of {', '.join(annotation.model_fields)}"
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(annotation))
    kinds = [kind for kind in get_args(annotation) or (annotation,) if kind is not NoneType]
    text = " or ".join(TYPE_NAMES.get(kind, getattr(kind, "__name__", str(kind))) for kind in kinds)
    bounds = [
        f"{symbol} {getattr(constraint, attribute)}"
        for constraint in field.metadata
        for kind, (attribute, symbol) in BOUNDS.items()
        if isinstance(constraint, kind)
    ]
    if bounds:
        text += " " + " and ".join(bounds)
    return text + (", or null" if NoneType in get_args(annotation) else "")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _shown(value: Any, limit: int = 60) -> str:
    """A value as YAML readers know it (null, true, "text"), cut to ``limit`` characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
