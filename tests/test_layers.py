"""The layer rules the docstrings state, checked: who imports copier and click, who prints.

The import contracts live in pyproject.toml (`[tool.importlinter]`, also run by `make lint`);
docs/design/architecture.md draws the same layers. Printing and exiting without click
(`print`, `sys.exit`, `raise SystemExit`…) is no import, so the code is read for those here.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import BIN, REPO_ROOT, run

PACKAGE = REPO_ROOT / "src" / "scaffold"
CONTRACTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]["contracts"]
CLI = ("scaffold", "cli")
"""The package (or, before it was one, the module) that alone may print, prompt or exit."""
OUTPUT_CALLS = {"print", "input", "exit", "quit", "breakpoint"}
OUTPUT_ATTRIBUTES = {
    ("sys", "exit"),
    ("os", "_exit"),
    ("os", "abort"),
    ("sys.stdout", "write"),
    ("sys.stderr", "write"),
}


@pytest.mark.parametrize("contract", [c["id"] for c in CONTRACTS])
def test_import_contract_is_kept(contract: str) -> None:
    """`lint-imports` on this checkout's `src/`, one contract at a time (its report on failure)."""
    run(
        [BIN / "lint-imports", "--no-cache", "--contract", contract],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT / "src")},
    )


def _module_name(path: Path) -> tuple[str, ...]:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _output_calls(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for each print, prompt or exit in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if ast.unparse(raised) == "SystemExit":
                yield node.lineno, "raise SystemExit"
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in OUTPUT_CALLS:
            yield node.lineno, f"{node.func.id}()"
        if isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if (owner, node.func.attr) in OUTPUT_ATTRIBUTES:
                yield node.lineno, f"{owner}.{node.func.attr}()"


def test_only_the_cli_prints_prompts_or_exits() -> None:
    """The library returns results and raises `ScaffoldError`s; the CLI alone talks to people."""
    modules = sorted(PACKAGE.rglob("*.py"))
    assert modules, f"no modules under {PACKAGE}"
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {what}"
        for path in modules
        if _module_name(path)[: len(CLI)] != CLI
        for line, what in _output_calls(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == [], "only scaffold.cli prints, prompts or exits:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("print('x')", [(1, "print()")]),
        ("import sys\nsys.exit(2)", [(2, "sys.exit()")]),
        ("raise SystemExit(1)", [(1, "raise SystemExit")]),
        ("import sys\nsys.stderr.write('x')", [(2, "sys.stderr.write()")]),
        ("SCRIPT = 'print(1)'\nlogger.warning('x')", []),
    ],
)
def test_the_scan_sees_each_way_out(code: str, expected: list[tuple[int, str]]) -> None:
    """The scan above finds what it looks for, and not a `print(` inside a string."""
    assert list(_output_calls(ast.parse(code))) == expected
