"""The data's columns, as data/contract.yaml declares them: names, ranges and categories.

The contract is loaded and checked once, on import, from the project root that
:class:`..settings.Settings` finds (a mistake in it ends the process with one line); the names
below are what every layer reads. The pandera schemas built from them live in :mod:`.checks`
(pandera is imported only where data is checked).
"""

from __future__ import annotations

from ..errors import StageError
from ..settings import Settings
from .contract import Code, Contract, load

BOOLEAN_CODES = (0, 1)  # how a boolean column is written in the data files


def _load() -> tuple[Contract, str]:
    settings = Settings()
    label = settings.relative(settings.contract)
    return load(settings.contract, label), label


def category_codes(contract: Contract, name: str) -> tuple[Code, ...]:
    """A categorical or boolean column's allowed values: integer codes or strings."""
    column = contract.columns[name]
    if column.kind == "boolean":
        return BOOLEAN_CODES
    return tuple(column.categories or ())


try:
    CONTRACT, LABEL = _load()
except StageError as error:
    # Every command imports this module before it can catch a StageError: end it with the
    # contract's one-line problem, as the commands do, rather than a traceback.
    raise SystemExit(f"error: {error}") from None
ID = CONTRACT.named("id")[0]
TARGET = CONTRACT.target.name
RAW_TARGET = CONTRACT.target.column
# binary, multiclass or regression (core/tasks has one module each).
TASK_NAME = CONTRACT.task
# A multiclass target's classes: the target is a class's position in this tuple.
CLASSES = CONTRACT.classes
# A regression target's allowed range, when the contract gives one.
TARGET_RANGE = CONTRACT.columns[RAW_TARGET].range if TASK_NAME == "regression" else None
# binary: target = 1 when RAW_TARGET equals POSITIVE (when given), else when > POSITIVE_ABOVE.
POSITIVE = CONTRACT.target.positive
POSITIVE_ABOVE = CONTRACT.target.positive_when_above
# The raw file's column order.
FEATURES = CONTRACT.named("feature")
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    name: column.range
    for name, column in CONTRACT.columns.items()
    if name in FEATURES and column.range is not None
}
# Each categorical or boolean feature's allowed values (integer codes, or strings).
CATEGORY_CODES: dict[str, tuple[Code, ...]] = {
    name: category_codes(CONTRACT, name) for name in FEATURES if name not in NUMERIC_RANGES
}
NUMERIC_FEATURES = tuple(NUMERIC_RANGES)
CATEGORICAL_FEATURES = tuple(CATEGORY_CODES)
BOOLEAN_FEATURES = tuple(name for name in FEATURES if CONTRACT.columns[name].kind == "boolean")
# The categorical features written as words: the model one-hot encodes them as strings.
STRING_FEATURES = tuple(name for name in CATEGORICAL_FEATURES if CONTRACT.columns[name].strings)
# The features that may be missing (the model imputes them); any other missing value is an error.
MAY_BE_MISSING = frozenset(name for name in FEATURES if CONTRACT.columns[name].missing)
RAW_COLUMNS = (*FEATURES, RAW_TARGET)
