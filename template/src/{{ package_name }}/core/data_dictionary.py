"""The data dictionary (docs/data.md), written from data/contract.yaml by ``make data-docs``.

The page is committed so that it reads on any git host; a test fails when it differs from
what the contract gives, so the two never drift apart. Run
``python -m <package>.core.data_dictionary`` (what ``make data-docs`` does) after editing
the contract.
"""

from __future__ import annotations

from ..files import write_text
from ..settings import Settings
from .contract import Column, Contract, Target
from .schema import CONTRACT, LABEL

PAGE = "docs/data.md"
HEADER = ("column", "role", "kind", "allowed values", "unit", "description")


def _cell(text: str) -> str:
    """Text that cannot break a Markdown table row."""
    return " ".join(text.split()).replace("|", "\\|")


def _allowed(column: Column) -> str:
    if column.range is not None:
        low, high = column.range
        return f"{low} to {high}"
    if column.kind == "boolean":
        return "0 = false, 1 = true"
    return "; ".join(
        f"{code} = {meaning}" if meaning else str(code)
        for code, meaning in (column.categories or {}).items()
    )


def render(contract: Contract, source: str) -> str:
    """The Markdown page for ``contract``; ``source`` names the file it comes from."""
    lines = [
        "# Data dictionary",
        "",
        f"<!-- Made from {source} by `make data-docs`: edit the contract, not this page. -->",
        "",
        f"Task: **{contract.task}**. {_predicts(contract)}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for name, column in contract.columns.items():
        cells = (
            f"`{name}`",
            column.role,
            column.kind,
            _allowed(column),
            column.unit or "",
            column.description,
        )
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines += ["", _missing(contract), ""]
    return "\n".join(lines)


def _predicts(contract: Contract) -> str:
    """What the model predicts, by task."""
    target = contract.target
    if contract.task == "multiclass":
        classes = ", ".join(
            f"{position} = `{value}`" for position, value in enumerate(contract.classes)
        )
        return f"The model predicts `{target.name}`, the class of `{target.column}`: {classes}."
    if contract.task == "regression":
        unit = contract.columns[target.column].unit
        return f"The model predicts `{target.name}`, the value of `{target.column}`" + (
            f" ({_cell(unit)})." if unit else "."
        )
    return (
        f"The model predicts `{target.name}`: 1 ({_cell(target.positive_label or '')}) when "
        f"{_rule(target)}, else 0 ({_cell(target.negative_label or '')})."
    )


def _rule(target: Target) -> str:
    if target.positive is not None:
        return f"`{target.column}` is `{target.positive}`"
    return f"`{target.column}` > {target.positive_when_above}"


def _missing(contract: Contract) -> str:
    allowed = [name for name in contract.named("feature") if contract.columns[name].missing]
    if not allowed:
        return "No feature may be missing: prepare drops the rows where one is."
    names = ", ".join(f"`{name}`" for name in allowed)
    return (
        f"Missing values are allowed in {names}: the model imputes them (numbers: the training "
        "median; categories: the most frequent). Prepare drops the rows where any other "
        "feature is missing."
    )


def main() -> int:
    """Write the page below the project root; returns the exit status."""
    path = Settings().root / PAGE
    write_text(path, render(CONTRACT, LABEL))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
