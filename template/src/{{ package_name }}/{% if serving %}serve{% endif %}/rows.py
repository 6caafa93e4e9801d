"""The features as the service handles them: their names, kinds and allowed values.

:data:`COLUMNS` is the data contract's view (``core/schema.py``); tests build others from any
contract (:meth:`Columns.from_contract`), so that string categories, missing values and column
names that are not identifiers are checked in every project, whatever its own contract.

A request's records become rows of values in feature order: numbers, strings, or ``None``
for a missing value. :meth:`Columns.array` makes one array of them, the form every scoring
route takes: float64 when no feature is a string (missing values NaN), as for the
heart-disease example; else an object array whose strings stay strings and whose missing
values are NaN, as the model met them in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import schema
from ..core.contract import Code, Contract

Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Columns:
    """The features in order: numeric ranges, allowed values, strings and missing ones."""

    names: tuple[str, ...]
    ranges: dict[str, tuple[float, float]]
    codes: dict[str, tuple[Code, ...]]  # categorical and boolean features' allowed values
    strings: tuple[str, ...] = ()  # categorical features written as words
    may_be_missing: frozenset[str] = frozenset()
    booleans: frozenset[str] = frozenset()
    # Each string feature's position in a row, and its listed values.
    listed: tuple[tuple[str, int, frozenset[Code]], ...] = field(init=False)

    def __post_init__(self) -> None:
        listed = tuple(
            (name, self.names.index(name), frozenset(self.codes[name])) for name in self.strings
        )
        object.__setattr__(self, "listed", listed)

    @classmethod
    def from_contract(cls, contract: Contract) -> Columns:
        """The features of ``contract``, derived as ``core/schema.py`` derives its names."""
        names = contract.named("feature")
        kinds = {name: contract.columns[name] for name in names}
        ranges = {name: column.range for name, column in kinds.items() if column.range is not None}
        return cls(
            names=names,
            ranges=ranges,
            codes={
                name: schema.category_codes(contract, name) for name in names if name not in ranges
            },
            strings=tuple(name for name, column in kinds.items() if column.strings),
            may_be_missing=frozenset(name for name, column in kinds.items() if column.missing),
            booleans=frozenset(name for name, column in kinds.items() if column.kind == "boolean"),
        )

    def array(self, rows: Rows | np.ndarray) -> np.ndarray:
        """``rows`` (one value per feature, ``None`` or NaN when missing) as one array."""
        if not self.strings:
            return np.asarray(rows, dtype=float)  # None becomes NaN
        table = np.array(rows, dtype=object).reshape(-1, len(self.names))
        table[np.equal(table, np.array(None))] = np.nan
        return table

    def unlisted(self, rows: Rows) -> list[str]:
        """The string feature of each value in ``rows`` that the contract does not list
        (accepted, and scored as unknown to the model); missing values aside."""
        found = []
        for name, position, allowed in self.listed:
            found += [
                name for row in rows if row[position] is not None and row[position] not in allowed
            ]
        return found


COLUMNS = Columns.from_contract(schema.CONTRACT)
