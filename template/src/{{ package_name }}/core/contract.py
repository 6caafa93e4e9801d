"""The data contract (data/contract.yaml): a typed model of the file, and its loader.

The file is written by people, so every mistake ends in one line that names the column and
the problem, e.g. ``data/contract.yaml: column 'age': range: min 120 > max 0``, raised as a
:class:`.StageError` (no traceback from the command lines). :mod:`.schema` turns the checked
contract into the names the other modules use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import StageError

Role = Literal["feature", "target", "id", "ignored"]
# text and datetime columns are read by no model: only an id or an ignored column has them.
Kind = Literal["numeric", "categorical", "boolean", "text", "datetime"]
MODEL_KINDS = ("numeric", "categorical", "boolean")
Number = int | float  # ints stay ints, so a range reads back as written
Code = int | str


class Strict(BaseModel):
    """A mapping of the contract: no unknown keys (a misspelt key would be ignored), frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(Strict):
    """One column: what it is for, what values it takes, what it means.

    ``categories`` maps each allowed value (integer codes or strings, not both) to its
    meaning; a plain list of values is read as values without meanings.
    """

    role: Role
    kind: Kind
    description: str = ""
    unit: str | None = None
    range: tuple[Number, Number] | None = None
    categories: dict[Code, str] | None = None
    missing: bool = False

    @field_validator("categories", mode="before")
    @classmethod
    def _listed_categories(cls, value: Any) -> Any:
        if isinstance(value, list):
            return dict.fromkeys(value, "")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        if self.range is not None:
            low, high = self.range
            if low > high:
                raise ValueError(f"range: min {low} > max {high}")
            if self.kind != "numeric":
                raise ValueError(f"range: only a numeric column has one, not a {self.kind} one")
        if self.role in ("feature", "target") and self.kind not in MODEL_KINDS:
            raise ValueError(
                f"kind: a {self.role} is numeric, categorical or boolean, not {self.kind} "
                "(make it ignored, or derive a numeric column from it)"
            )
        if self.kind == "numeric" and self.role == "feature" and self.range is None:
            raise ValueError("range: a numeric feature needs one, [min, max]")
        if self.categories is not None and self.kind != "categorical":
            raise ValueError(f"categories: only a categorical column has them, not a {self.kind}")
        if self.kind == "categorical" and self.role != "id" and not self.categories:
            raise ValueError("categories: a categorical column needs at least one")
        if len({type(code) for code in self.categories or ()}) > 1:
            raise ValueError("categories: all integer codes or all strings, not both")
        if self.missing and self.role == "id":
            raise ValueError("missing: an id names every row, so it cannot be missing")
        return self

    @property
    def strings(self) -> bool:
        """Whether the values are strings (categories written as words)."""
        return any(isinstance(code, str) for code in self.categories or ())


Task = Literal["binary", "multiclass", "regression"]


class Target(Strict):
    """What the model predicts, ``name``, derived from the raw ``column`` by the task's rule.

    - binary: 1 when the raw value is the positive class, a raw value (``positive``, e.g. ``M``
      or ``1``) or every raw value above a number (``positive_when_above``): one of the two,
      with a label for each class;
    - multiclass: the class's position in the target column's ``categories`` (0, 1, 2, ...);
    - regression: the raw number itself.
    """

    column: str
    name: str
    positive_when_above: Number | None = None
    positive: Code | None = None
    positive_label: str | None = None
    negative_label: str | None = None

    def rule(self) -> str:
        """The binary rule in words, e.g. ``num > 0`` or ``diagnosis = M``."""
        if self.positive is not None:
            return f"{self.column} = {self.positive}"
        return f"{self.column} > {self.positive_when_above}"

    def check(self, task: Task, column: Column) -> None:
        """Whether the target suits the task and the target column (a ValueError if not)."""
        rules = (self.positive, self.positive_when_above)
        if task != "binary":
            values = (*rules, *self._labels())
            given = [
                key for key, value in zip(BINARY_KEYS, values, strict=True) if value is not None
            ]
            if given:
                raise ValueError(f"target.{given[0]}: only a binary task has it, not {task}")
        if task == "binary":
            self._check_binary(column)
        elif task == "multiclass":
            if column.kind != "categorical" or len(column.categories or ()) < 3:
                raise ValueError(
                    "task multiclass: the target column lists its classes as categories, "
                    "at least three (two classes: task binary)"
                )
        elif column.kind != "numeric":
            raise ValueError(f"task regression: the target column is numeric, not {column.kind}")

    def _labels(self) -> tuple[str | None, str | None]:
        return self.positive_label, self.negative_label

    def _check_binary(self, column: Column) -> None:
        if (self.positive is None) == (self.positive_when_above is None):
            raise ValueError(
                "target: give the positive class by one of positive or positive_when_above"
            )
        for key, value in zip(BINARY_KEYS[2:], self._labels(), strict=True):
            if value is None:
                raise ValueError(f"target.{key}: a binary task names each class")
        if (
            self.positive is not None
            and column.categories
            and self.positive not in column.categories
        ):
            raise ValueError(
                f"target.positive: {self.positive!r} is not one of the target's categories "
                f"({', '.join(map(str, column.categories))})"
            )
        if self.positive_when_above is not None and column.strings:
            raise ValueError("target.positive_when_above: the target's values are strings")


BINARY_KEYS = ("positive", "positive_when_above", "positive_label", "negative_label")


class Contract(Strict):
    """The whole file: the task, the target rule and every column in the raw file's order."""

    task: Task
    target: Target
    columns: Annotated[dict[str, Column], Field(min_length=1)]

    @model_validator(mode="after")
    def _roles(self) -> Contract:
        targets = self.named("target")
        if len(targets) != 1:
            raise ValueError(f"columns: need one target column, found {_listed(targets)}")
        if targets[0] != self.target.column:
            raise ValueError(
                f"target.column: '{self.target.column}' is not the target column '{targets[0]}'"
            )
        ids = self.named("id")
        if len(ids) != 1:
            raise ValueError(f"columns: need one id column, found {_listed(ids)}")
        if not self.named("feature"):
            raise ValueError("columns: need at least one feature")
        self.target.check(self.task, self.columns[targets[0]])
        if self.target.name in self.columns:
            raise ValueError(f"target.name: '{self.target.name}' is already a column")
        return self

    @property
    def classes(self) -> tuple[Code, ...]:
        """A multiclass target's classes, in the order of their positions; else empty."""
        if self.task != "multiclass":
            return ()
        return tuple(self.columns[self.target.column].categories or ())

    def named(self, role: Role) -> tuple[str, ...]:
        """The columns with ``role``, in the file's order."""
        return tuple(name for name, column in self.columns.items() if column.role == role)


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{name}'" for name in names) if names else "none"


def describe(error: ValidationError) -> str:
    """pydantic's errors in one line, each led by the column (or key) it concerns."""
    parts = []
    for problem in error.errors(include_url=False):
        loc = [str(part) for part in problem["loc"]]
        where = f"column '{loc[1]}'" if loc[:1] == ["columns"] and len(loc) > 1 else ""
        key = ".".join(loc[2:] if where else loc)
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] not in {"value_error", "missing"}:
            message += f" (found {problem['input']!r})"
        parts.append(": ".join(part for part in (where, key, message) if part))
    return "; ".join(parts)


def parse(text: str, label: str) -> Contract:
    """Check a contract's YAML text; ``label`` names it in the error (usually its path)."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise StageError(f"{label}: not valid YAML{line}") from None
    try:
        return Contract.model_validate(data)
    except ValidationError as error:
        raise StageError(f"{label}: {describe(error)}") from None


def load(path: Path, label: str | None = None) -> Contract:
    """The contract at ``path``, checked; ``label`` names it in errors (default: the path)."""
    label = str(path) if label is None else label
    if not path.is_file():
        raise StageError(f"{label}: data contract not found")
    return parse(path.read_text(encoding="utf-8"), label)
