"""Options that several commands share, so that each reads and helps the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scaffold import options
from scaffold.dataset import TABLE_SUFFIXES, TASKS
from scaffold.errors import InvalidAnswerError

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = click.Choice(["table", "json", "csv", "md"])

jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Repositories at a time (default: twice the CPUs, at most 8).",
)
to_option = click.option(
    "--to", "to", metavar="REF", help="Template version (default: the newest)."
)
data_option = click.option(
    "-d",
    "--data",
    "data",
    multiple=True,
    metavar="KEY=VALUE",
    help="Answer a question (repeatable).",
)
vcs_ref_option = click.option(
    "--vcs-ref", metavar="REF", help="Template git ref (tag, branch, commit)."
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print only errors and the result.")


def format_option(default: str) -> Callable[[F], F]:
    """``--format`` of a report on stdout: table, json, csv or md."""
    return click.option(
        "--format",
        "fmt",
        type=FORMATS,
        default=default,
        show_default=True,
        help="Output on stdout (JSON carries `schema`).",
    )


def template_options(command: F) -> F:
    """-d/--data, --data-file, --template and --vcs-ref: the answers and the template."""
    for option in reversed(
        (
            data_option,
            click.option(
                "--data-file",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="YAML file of answers; -d values win.",
            ),
            click.option(
                "--template",
                metavar="SRC",
                help="Template path or git URL (default: the bundled one).",
            ),
            vcs_ref_option,
        )
    ):
        command = option(command)
    return command


def dataset_options(command: F) -> F:
    """--dataset FILE and how to read it: --target, --task, --id, --positive (`new`)."""
    for option in reversed(
        (
            click.option(
                "--dataset",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Your own table (CSV or Parquet) instead of the starter data.",
            ),
            click.option("--target", metavar="COLUMN", help="The column to predict (--dataset)."),
            click.option(
                "--task",
                type=click.Choice(TASKS),
                help="What the model learns (default: inferred from the target, and said).",
            ),
            click.option(
                "--id", "id_column", metavar="COLUMN", help="The column naming a row (--dataset)."
            ),
            click.option(
                "--positive", metavar="VALUE", help="The target value of class 1 (--dataset)."
            ),
        )
    ):
        command = option(command)
    return command


def given_answers(data: tuple[str, ...], data_file: Path | None) -> dict[str, Any]:
    """The answers of --data-file and -d (which win); a table given as --data-file is refused."""
    if data_file is not None and data_file.suffix.lower() in TABLE_SUFFIXES:
        raise InvalidAnswerError(
            f"--data-file takes a YAML file of answers; {data_file} is a table: make a project "
            f"from it with --dataset {data_file} --target COLUMN"
        )
    answers: dict[str, Any] = options.load_data_file(data_file) if data_file else {}
    answers.update(options.parse_pairs(data))
    return answers
