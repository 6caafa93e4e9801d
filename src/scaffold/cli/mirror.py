"""`scaffold mirror`: the local template repository that plain copier can use too."""

from __future__ import annotations

import click

from scaffold import api


@click.command()
def mirror() -> None:
    """Refresh the local template repository (run once after upgrading, for plain copier)."""
    ref = api.sync_mirror()
    versions = api.mirror_versions()
    click.echo(f"Template mirror: {ref.src}")
    click.echo(f"Installed version: {ref.vcs_ref}")
    click.echo(f"Versions held: {', '.join(versions)}")
