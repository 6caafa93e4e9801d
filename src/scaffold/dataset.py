"""A project made from a team's own table: `scaffold new DEST --dataset FILE --target COLUMN`.

The template leaves the heart-disease starter data and contract out when its `dataset` answer
names a file (so `copier update` never brings them back), and points params.yaml's
`prepare.raw_data` at `data/raw/<name>`. Here, in the project still being staged: the table
is copied there, the project's environment installed (`make install`), its contract inferred
by the project's own `core.infer_contract` (scaffold has no pandas) and its data dictionary
written. The environment is then removed: it points at the staging directory, and `api`
installs it again where the project lands.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scaffold.errors import InvalidAnswerError, ScaffoldError

TABLE_SUFFIXES = (".csv", ".parquet")
TASKS = ("binary", "multiclass", "regression")
ANSWER = "dataset"  # the copier question that names the table in data/raw/
TASK_ANSWER = "task"  # the copier question that renders params.yaml for the task
_RAW = Path("data") / "raw"
# Variables that would point the project's commands at another project or environment.
_FOREIGN = {"PROJECT_ROOT", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
# make's own report of a failed recipe ("make[1]: *** [Makefile:88: uv.lock] Error 2") says
# where, not why: the recipe's own error line above it does.
_MAKE_FAILURE = re.compile(r"^make(\[\d+\])?: \*\*\* ")


@dataclass(frozen=True)
class Dataset:
    """The table and how to read it: the column to predict, the id, the positive class."""

    path: Path
    target: str
    task: str | None = None  # None: inferred from the target
    id_column: str | None = None
    positive: str | None = None

    @property
    def name(self) -> str:
        """The file's name in data/raw/: letters, digits, dots, dashes and underscores only,
        so that params.yaml, the Makefile and DVC read it as it is."""
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", self.path.stem).strip("-.") or "data"
        return stem + self.path.suffix.lower()

    def check(self) -> None:
        """Refuse, before anything is rendered, a table scaffold cannot take."""
        if self.path.suffix.lower() not in TABLE_SUFFIXES:
            raise InvalidAnswerError(f"--dataset {self.path}: a table is a .csv or .parquet file")
        if not self.path.is_file():
            raise InvalidAnswerError(f"--dataset {self.path}: no such file")
        if self.positive is not None and self.task not in (None, "binary"):
            raise InvalidAnswerError(f"--positive: only a binary task has one, not {self.task}")

    def arguments(self) -> list[str]:
        """The inference's command-line arguments (the table as copied into the project)."""
        args = [str(_RAW / self.name), "--target", self.target]
        if self.task is not None:
            args += ["--task", self.task]
        if self.id_column is not None:
            args += ["--id", self.id_column]
        if self.positive is not None:
            args += ["--positive", self.positive]
        return [*args, "--force"]


def with_answer(data: dict[str, Any], dataset: Dataset | None) -> dict[str, Any]:
    """The answers with `dataset` naming the table; refused when given by hand instead."""
    if dataset is None:
        if data.get(ANSWER):
            raise InvalidAnswerError(
                f"'{ANSWER}' is answered by --dataset FILE --target COLUMN, which puts the "
                "table in data/raw/ and infers its contract"
            )
        return data
    dataset.check()
    for answer, option in ((ANSWER, "--dataset FILE"), (TASK_ANSWER, "--task")):
        if answer in data:
            raise InvalidAnswerError(f"'{answer}' is answered by {option}")
    task = {TASK_ANSWER: dataset.task} if dataset.task is not None else {}
    return {**data, ANSWER: dataset.name, **task}


def named_defaults(dest: Path, dataset: Dataset | None) -> dict[str, str]:
    """Defaults that name a table's project after its directory and its table, not the
    starter's heart disease; copier still asks them, or takes them with --defaults. A
    directory name that does not start with a letter leaves the project's name to copier."""
    if dataset is None:
        return {}
    defaults = {
        "description": f"Predict {dataset.target} from {dataset.name}, with a reproducible "
        "MLOps pipeline"
    }
    words = re.findall(r"[A-Za-z0-9]+", dest.name)
    if words and words[0][0].isalpha():
        defaults["project_name"] = " ".join(word[:1].upper() + word[1:] for word in words)
    return defaults


def inferred_task(project: Path) -> str:
    """The task data/contract.yaml declares (as the inference wrote it)."""
    contract = yaml.safe_load((project / "data" / "contract.yaml").read_text(encoding="utf-8"))
    return str(contract["task"])


def install(project: Path, package: str) -> None:
    """`make install` in `project`: the environment the user needs next anyway."""
    _run(project, package, ["make", "--no-print-directory", "install"], "make install")


def prepare(project: Path, package: str, dataset: Dataset) -> list[str]:
    """Copy the table in, infer its contract, write docs/data.md; the inference's lines.

    The environment made for this is removed again (see the module docstring).
    """
    raw = project / _RAW
    raw.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(dataset.path, raw / dataset.name)
    except OSError as error:
        raise ScaffoldError(f"--dataset {dataset.path}: cannot copy it: {error}") from error
    try:
        install(project, package)
        python = str(project / ".venv" / "bin" / "python")
        infer = [python, "-m", f"{package}.core.infer_contract", *dataset.arguments()]
        told = _run(project, package, infer, "infer_contract")
        pages = [python, "-m", f"{package}.core.data_dictionary"]
        _run(project, package, pages, "data_dictionary")
    finally:
        shutil.rmtree(project / ".venv", ignore_errors=True)
    lines = [line.removeprefix("infer_contract: ") for line in told.splitlines()]
    # Its last lines say to write docs/data.md and params.yaml, which copier and this did.
    done = ("wrote ", "params.yaml for a ")
    return [line for line in lines if line.strip() and not line.startswith(done)]


def _run(project: Path, package: str, command: list[str], name: str) -> str:
    """Run `command` in `project`; its stderr, or its telling line as a `ScaffoldError`."""
    foreign = {*_FOREIGN, f"{package.upper()}_ROOT"}
    env = {key: value for key, value in os.environ.items() if key not in foreign}
    try:
        done = subprocess.run(
            command,
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        raise ScaffoldError(f"{name}: cannot run {command[0]}: {error.strerror}") from error
    if done.returncode != 0:
        raise ScaffoldError(_problem(done.stderr or done.stdout, name, done.returncode))
    return done.stderr


def _problem(output: str, name: str, status: int) -> str:
    """The line that says why `name` failed: its own, else the last error line, else the last."""
    lines = [line for line in output.splitlines() if line.strip()]
    if told := [line for line in lines if line.startswith(f"{name}: ")]:
        return told[0]
    lines = [line for line in lines if not _MAKE_FAILURE.match(line)] or lines
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    why = errors[-1] if errors else lines[-1] if lines else f"exit status {status}"
    return f"{name}: {why}"
