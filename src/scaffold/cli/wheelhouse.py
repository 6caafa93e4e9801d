"""`scaffold wheelhouse`: the wheels a project needs, for installing without a package index."""

from __future__ import annotations

from pathlib import Path

import click

from scaffold.cli import progress
from scaffold.cli.shared_options import template_options


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@template_options
def wheelhouse(
    dest: Path,
    data: tuple[str, ...],
    data_file: Path | None,
    template: str | None,
    vcs_ref: str | None,
) -> None:
    """Download every wheel a project with these answers needs into DEST (for this
    machine's Python and platform).

    Then, in the generated project, `make install WHEELHOUSE=DEST` installs with the
    package index switched off.
    """
    from scaffold import options
    from scaffold import wheelhouse as wheels

    answers = options.load_data_file(data_file) if data_file else {}
    answers.update(options.parse_pairs(data))
    with progress.steps(quiet=False) as steps:
        steps("Rendering the project, exporting its lock and downloading the wheels")
        made = wheels.build(dest, answers, template=template, vcs_ref=vcs_ref)
    size = made.bytes / 1e6
    click.secho(
        f"{made.wheels} wheels ({size:.0f} MB) in {made.path} for {made.requirements}"
        f" locked requirements, in {made.seconds:.0f} s",
        fg="green",
    )
    click.echo(f"In the project: make install WHEELHOUSE={made.path}")
