"""dvc.yaml's code deps cover every module each stage imports, so that they cannot drift.

A stage's deps are files and directories (``src/<package>/core`` covers every module below it).
Walking the stage module's imports with ``ast``, transitively within the package, finds each
module the stage runs; each must lie below one of the stage's deps, or editing it would leave
``dvc repro`` believing the stage up to date.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]
STAGES = yaml.safe_load((CHECKOUT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def stage_module(command: str) -> str:
    """The module a stage runs: ``python -m <module>``."""
    python, flag, module = command.split()
    assert (python, flag) == ("python", "-m"), command
    return module


def module_file(name: str) -> Path | None:
    """Where a module's source is, or None when it is not a module (an imported name)."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def imported_modules(path: Path, name: str) -> set[str]:
    """The names of the modules one module's source imports (anywhere in it)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def package_files(module: str) -> set[Path]:
    """Every file of the module's package that running it imports, the module's own included
    (but the package's ``__init__.py``: its version, which no stage's result depends on)."""
    package = module.split(".")[0]
    seen: dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        path = module_file(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        pending.extend(
            found
            for found in imported_modules(path, name)
            if found.split(".")[0] == package and found not in seen and found != package
        )
    return set(seen.values())


def uncovered(deps: list[str], module: str) -> list[str]:
    """The files ``module`` imports that no dep (a file, or a directory above it) covers."""
    paths = [(CHECKOUT_ROOT / dep).resolve() for dep in deps if "${" not in dep]
    return sorted(
        path.relative_to(CHECKOUT_ROOT).as_posix()
        for path in package_files(module)
        if not any(path == dep or dep in path.parents for dep in paths)
    )


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_cover_every_module_the_stage_imports(stage: str) -> None:
    """No stage imports a file of the package that its deps leave out."""
    missing = uncovered(STAGES[stage]["deps"], stage_module(STAGES[stage]["cmd"]))
    assert missing == [], f"dvc.yaml: stage {stage} lacks deps on {missing}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_code_dep_exists(stage: str) -> None:
    """A dep on a module that was moved or deleted is caught here, not by `dvc repro`."""
    code = [dep for dep in STAGES[stage]["deps"] if dep.startswith("src/")]
    assert [dep for dep in code if not (CHECKOUT_ROOT / dep).exists()] == []


def test_a_missing_dep_is_found() -> None:
    """Train imports the tracking module through ``from .. import tracking``, and the tasks
    through core's package: leaving either dep out is reported."""
    module = stage_module(STAGES["train"]["cmd"])
    deps = STAGES["train"]["deps"]
    tracking = next(dep for dep in deps if dep.endswith("/tracking.py"))
    core = next(dep for dep in deps if dep.endswith("/core"))
    assert uncovered([dep for dep in deps if dep != tracking], module) == [tracking]
    lost = uncovered([dep for dep in deps if dep != core], module)
    assert f"{core}/tasks/binary.py" in lost
