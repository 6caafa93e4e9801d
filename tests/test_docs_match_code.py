"""The docs that describe the code, checked against it: a list that is not checked goes stale.

The README's layout section names every package and module of `src/scaffold`, every folder of
`tests/` and every script of `bench/`; the home page's command table names every command of
`scaffold`; the architecture page's layer table lists the layers of pyproject.toml's import
contract. Everything is read from the code, so the checks hold whatever the modules are called.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from scaffold.cli import main
from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"
INDEX = REPO_ROOT / "docs" / "index.md"
ARCHITECTURE = REPO_ROOT / "docs" / "design" / "architecture.md"
PACKAGE = REPO_ROOT / "src" / "scaffold"
NOT_LISTED = {"__init__.py", "__main__.py"}
"""Modules every package has, or that only start the CLI: the layout does not name them."""
ISSUE_REFERENCES = (
    re.compile(r"(?i)\b(?:issues?|tickets?|pull requests?|PRs?)\s*#?\d+\b"),
    re.compile(r"(?<![\w&#/\"'])(?<!color: )#\d+\b(?![\w\"'])"),  # not &#34; nor a CSS colour
)
SCANNED = ("src", "tests", "bench", "template", "includes", "docs", ".ci")


def _section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same level or higher."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = re.search(rf"^#{{1,{len(level)}}} ", text[start:], re.MULTILINE)
    return text[start : start + end.start()] if end else text[start:]


def _layout_lines() -> list[str]:
    """The lines of the code block in the README's layout section."""
    layout = _section(README.read_text(encoding="utf-8"), "## Layout")
    block = re.search(r"```\n(.*?)```", layout, re.DOTALL)
    assert block, "README.md: no code block under ## Layout"
    return block.group(1).splitlines()


def _entries(lines: list[str], top: str) -> set[str]:
    """The names listed under the top-level entry `top` (its lines indented by two spaces)."""
    found: set[str] = set()
    inside = False
    for line in lines:
        if not line.startswith(" "):
            inside = line.startswith(f"{top} ")
        elif inside and re.match(r"  \S", line):
            found.add(line.split()[0])
    return found


def _top_entry_text(lines: list[str], top: str) -> str:
    """The words of the top-level entry `top`, its continuation lines included."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{top} "))
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if not line.startswith(" ")), len(rest))
    return " ".join([lines[start].removeprefix(top), *rest[:end]])


def _package_entries() -> set[str]:
    """`src/scaffold`'s modules (`name.py`) and packages (`name/`), as the layout names them."""
    return {
        f"{path.name}/" if path.is_dir() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.name not in NOT_LISTED)
        or (path.is_dir() and (path / "__init__.py").is_file())
    }


def test_readme_layout_names_every_module_and_package() -> None:
    assert _entries(_layout_lines(), "src/scaffold/") == _package_entries()


def test_readme_layout_names_every_test_folder() -> None:
    tests = REPO_ROOT / "tests"
    folders = {
        f"{path.relative_to(tests)}/"
        for path in tests.rglob("*")
        if path.is_dir()
        and not any(part == "__pycache__" or part.startswith(".") for part in path.parts)
    }
    assert folders, "no folders under tests/"
    assert _entries(_layout_lines(), "tests/") == folders


def test_readme_layout_names_every_bench_script() -> None:
    """The benchmarks are the scripts without a suffix (benchenv.py is what they share)."""
    bench = (REPO_ROOT / "bench").iterdir()
    scripts = {path.name for path in bench if path.is_file() and not path.suffix}
    listed = _top_entry_text(_layout_lines(), "bench/").split(":", 1)[0]
    assert {name.strip() for name in listed.split(",")} == scripts


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command that runs (groups opened), as the words typed after `scaffold`."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"{' '.join((*prefix, name))} is listed but not found"
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def _documented_commands() -> set[tuple[str, ...]]:
    """The command words of each row of the home page's command table."""
    rows = re.findall(r"^\| `scaffold ([^`]*)`", INDEX.read_text(encoding="utf-8"), re.MULTILINE)
    assert rows, "docs/index.md: no command table"
    documented = set()
    for row in rows:
        words = []
        for word in row.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        if words:  # `scaffold --version` is an option of the group, not a command
            documented.add(tuple(words))
    return documented


def test_home_page_names_every_command() -> None:
    commands = set(_commands(main))
    assert len(commands) > 1, "no commands found in scaffold.cli.main"
    assert _documented_commands() == commands


def _contract_layers() -> list[set[str]]:
    """The layers contract of pyproject.toml, top down, as sets of module names."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [
        contract
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "layers"
    ]
    return [
        {name.strip().strip("()") for name in re.split(r"[|:]", layer)}
        for layer in contract["layers"]
    ]


def _page_layers() -> list[set[str]]:
    """The Modules column of the architecture page's layer table, top down."""
    section = _section(ARCHITECTURE.read_text(encoding="utf-8"), "## The layers")
    rows = [line.split("|") for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, "docs/design/architecture.md: no layer table under ## The layers"
    return [  # the rows after the header and its rule
        {name.removesuffix("/").removesuffix(".py") for name in re.findall(r"`([^`]+)`", row[2])}
        for row in rows[2:]
    ]


def test_architecture_page_shows_the_layers_the_contract_checks() -> None:
    assert _page_layers() == _contract_layers()


def _text_files() -> Iterator[Path]:
    for folder in SCANNED:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path


def test_no_issue_numbers_in_code_tests_or_docs() -> None:
    """Code and docs say what the code does and why, not which issue asked for it."""
    found = []
    for path in _text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a binary file: no prose in it
            continue
        for number, line in enumerate(text.splitlines(), 1):
            found += [
                f"{path.relative_to(REPO_ROOT)}:{number}: {match.group()}"
                for pattern in ISSUE_REFERENCES
                for match in pattern.finditer(line)
            ]
    assert found == []


HASH = "#"  # the examples below must not match themselves in this file


@pytest.mark.parametrize(
    ("line", "found"),
    [
        (f"# see {HASH}24 for the details", True),
        (f"fixed in {'issue'} 24", True),
        (f"(Issue {HASH}7)", True),
        ("body { color: #222; }", False),
        ('COLOURS = {"window": "#888"}', False),
        ("&#34;y&#34;", False),
        ("[page](how-to/update.md#switch-a-feature-on-or-off)", False),
    ],
)
def test_the_issue_pattern(line: str, found: bool) -> None:
    assert any(pattern.search(line) for pattern in ISSUE_REFERENCES) is found
