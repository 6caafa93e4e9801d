"""`scaffold new`: a project from the template, or from the user's own table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scaffold import api
from scaffold.cli import progress
from scaffold.cli.shared_options import (
    dataset_options,
    given_answers,
    quiet_option,
    template_options,
)
from scaffold.dataset import Dataset
from scaffold.errors import InvalidAnswerError


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--defaults", is_flag=True, help="Answer every question with its default (no prompts)."
)
@template_options
@click.option("--force", is_flag=True, help="Write into a non-empty DEST (other files are kept).")
@click.option(
    "--lock/--no-lock",
    default=True,
    show_default=True,
    help="Lock the dependencies (uv lock, needs the package index) for the first commit.",
)
@dataset_options
@quiet_option
def new(
    dest: Path,
    defaults: bool,
    data: tuple[str, ...],
    data_file: Path | None,
    template: str | None,
    vcs_ref: str | None,
    force: bool,
    lock: bool,
    quiet: bool,
    **table: Any,
) -> None:
    """Create a new project in DEST.

    With --dataset FILE --target COLUMN the project is made from your own table (CSV or
    Parquet) instead of the heart-disease starter data: the table goes to data/raw/, its
    data contract is inferred (data/contract.yaml: check it) and the environment installed.
    """
    dataset = _dataset(**table)
    answers = given_answers(data, data_file)
    if not defaults and not sys.stdin.isatty():
        raise InvalidAnswerError("no terminal to ask the questions on; pass --defaults")
    # Without --defaults copier asks its questions on the terminal, in the middle of a step.
    with progress.steps(quiet, live=defaults) as steps:
        result = api.create(
            dest,
            answers,
            defaults=defaults,
            template=template,
            vcs_ref=vcs_ref,
            force=force,
            lock=lock,
            progress=steps,
            dataset=dataset,
        )
    for line in result.inferred:
        click.echo(f"  {line}", err=True)
    click.secho(
        f"Created {result.path} from template {result.version or result.template}", fg="green"
    )
    if result.lock_problem:
        click.secho(
            f"warning: the dependencies are not locked ({result.lock_problem}); run `make lock`"
            " in the project once it can run there (the package index reachable, the project's"
            " Python installed), and commit uv.lock",
            fg="yellow",
            err=True,
        )
    if result.install_problem:
        click.secho(
            f"warning: the environment is not installed ({result.install_problem}); run "
            "`make install` in the project",
            fg="yellow",
            err=True,
        )
    if dataset is not None:
        click.echo(f"Next: cd {result.path}, read data/contract.yaml, then make test repro")
    else:
        click.echo(f"Next: cd {result.path} && make install test repro")


def _dataset(
    dataset: Path | None,
    target: str | None,
    task: str | None,
    id_column: str | None,
    positive: str | None,
) -> Dataset | None:
    """The table `new` makes the project from, when --dataset names one."""
    if dataset is None:
        given = [
            name
            for name, value in (("--target", target), ("--id", id_column), ("--positive", positive))
            if value is not None
        ]
        if given:
            raise InvalidAnswerError(f"{given[0]} describes a table: pass --dataset FILE too")
        return None
    if target is None:
        raise InvalidAnswerError("--dataset needs --target COLUMN, the column to predict")
    return Dataset(dataset, target, task, id_column, positive)
