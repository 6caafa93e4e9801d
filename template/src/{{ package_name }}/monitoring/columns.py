"""The features as monitoring reads them: names, kinds, allowed values, which may be missing.

Every monitoring function that looks at feature values takes a :class:`Features` (by default
:data:`SCHEMA`, the project's own contract), so that a table with words, gaps and odd column
names is handled, and tested, with the same code as the heart-disease example.

In the frames of records (:meth:`Features.typed`), a numeric, integer-coded or boolean feature
is a float (a boolean 0.0 or 1.0), a string feature a ``str``, and a missing value NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..core.contract import Code, Contract
from ..core.frames import boolean_codes
from ..core.schema import CONTRACT, category_codes

OTHER = "(other)"  # a value outside the contract's categories, pooled in counts and charts


@dataclass(frozen=True)
class Features:
    """The model's input columns, in the contract's order, and what each may hold (hashable:
    the mappings follow from the rest, so the hash leaves them out)."""

    names: tuple[str, ...]
    ranges: Mapping[str, tuple[float, float]] = field(hash=False)
    codes: Mapping[str, tuple[Code, ...]] = field(hash=False)
    strings: frozenset[str]
    booleans: frozenset[str]
    may_be_missing: frozenset[str]

    @classmethod
    def of(cls, contract: Contract) -> Features:
        """The features of a checked contract (what core/schema.py derives, for any contract)."""
        names = contract.named("feature")
        columns = {name: contract.columns[name] for name in names}
        return cls(
            names=names,
            ranges={name: c.range for name, c in columns.items() if c.range is not None},
            codes={
                name: category_codes(contract, name)
                for name, c in columns.items()
                if c.kind in ("categorical", "boolean")
            },
            strings=frozenset(name for name, c in columns.items() if c.strings),
            booleans=frozenset(name for name, c in columns.items() if c.kind == "boolean"),
            may_be_missing=frozenset(name for name, c in columns.items() if c.missing),
        )

    def expected(self, name: str) -> str:
        """What a logged value of feature ``name`` must be, in words."""
        kind = "a string" if name in self.strings else "a finite number"
        if name in self.booleans:
            kind = "true, false or a number"
        return f"{kind} or null" if name in self.may_be_missing else kind

    def csv_types(self) -> dict[str, type]:
        """``dtype`` for ``pd.read_csv``: string features stay strings (``"01"`` is not 1)."""
        return dict.fromkeys(sorted(self.strings), str)

    def typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with its features as monitoring compares them (and the model reads them):
        string features as ``str`` objects, every other feature as float (a raw
        ``True``/``False`` as 1.0/0.0); NaN for a missing value."""
        result = frame.copy()
        for name in self.names:
            column = frame[name]
            if name in self.strings:
                result[name] = column.astype(object).map(
                    lambda value: math.nan if pd.isna(value) else str(value)
                )
            else:
                coded = boolean_codes(column.astype(object))
                result[name] = pd.to_numeric(coded, errors="coerce").astype(float)
        return result


SCHEMA = Features.of(CONTRACT)
