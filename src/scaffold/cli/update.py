"""`scaffold update`: a project brought to a newer template version."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scaffold import api
from scaffold.cli import interrupts, progress
from scaffold.cli.shared_options import data_option, given_answers, quiet_option, vcs_ref_option
from scaffold.errors import ExitCode

UPDATE_JSON_SCHEMA = 1
"""Version of `scaffold update --json`'s object: raised when a key changes or goes."""


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@vcs_ref_option
@data_option
@quiet_option
@click.option(
    "--lock/--no-lock",
    default=True,
    show_default=True,
    help="Relock uv.lock when the update changes pyproject.toml (needs the package index).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout."
)
@click.option(
    "--from",
    "release",
    type=click.Path(exists=True, path_type=Path),
    help="A wheel or checkout of the project's version, when the template mirror lacks it"
    " (default: that release's wheel on the package index).",
)
def update(
    path: Path,
    vcs_ref: str | None,
    data: tuple[str, ...],
    quiet: bool,
    lock: bool,
    as_json: bool,
    release: Path | None,
) -> None:
    """Update the project at PATH to a newer template version (copier update).

    Exits with code 3 when files are left with conflicts (listed, also in the JSON).
    """
    interrupts.leaves(
        f"{path.absolute()} may hold part of the update; `git reset --hard && git clean -fd`"
        " there restores its last commit (the update started from a clean work tree)"
    )
    answers = given_answers(data, None)
    with progress.steps(quiet) as steps:
        result = api.update(
            path, answers, vcs_ref=vcs_ref, lock=lock, progress=steps, release=release
        )
    if as_json:
        click.echo(json.dumps({"schema": UPDATE_JSON_SCHEMA, **result.to_dict()}, indent=2))
    else:
        _print(result)
    if result.conflicts:
        raise SystemExit(ExitCode.CONFLICTS)


def _print(result: api.UpdateResult) -> None:
    if result.mirrored:
        click.echo(f"Template mirror: {result.mirrored}", err=True)
    if result.old_version == result.new_version and not result.changed:
        click.secho(f"Already up to date with template {result.new_version}", fg="green")
        return
    click.secho(f"Updated {result.path}: {result.old_version} → {result.new_version}", fg="green")
    for kind, names in (
        ("added", result.added),
        ("modified", result.modified),
        ("removed", result.removed),
    ):
        for name in names:
            click.echo(f"  {kind}: {name}")
    if result.lock_problem:
        click.secho(
            f"warning: uv.lock not updated ({result.lock_problem}); run `make lock`",
            fg="yellow",
            err=True,
        )
    if result.conflicts:
        count, listing = len(result.conflicts), ", ".join(result.conflicts)
        click.secho(
            f"error: update left {count} file(s) with conflicts to resolve: {listing}",
            fg="red",
            err=True,
        )
        for name in result.conflicts:
            click.echo(f"  conflict: {name}", err=True)
        return
    click.echo("Review with `git diff`, then commit.")
