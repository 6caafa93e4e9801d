"""`scaffold feature list|enable|disable`: thin over `scaffold.features`.

`scaffold.features` (and through it copier) is imported inside the commands, so `--help`
stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scaffold.cli import interrupts, progress
from scaffold.cli.shared_options import quiet_option
from scaffold.errors import ExitCode

if TYPE_CHECKING:
    from scaffold.features import SwitchResult

EXIT_CODES = """Exit codes: 0 done (or the feature was in that state already), 1 the switch
could not run (unknown feature, dirty repository, a needed feature off), 3 conflicts left
to resolve, 7 a file to delete has local edits (pass --force; --dry-run exits 7 too)."""


@click.group()
def feature() -> None:
    """Switch the template's optional features on or off after creation."""


@feature.command(name="list")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list on stdout.")
def list_command(path: Path, as_json: bool) -> None:
    """Show which features the project at PATH has."""
    from scaffold import features

    found = features.list_features(path)
    if as_json:
        rows = [{"name": f.name, "enabled": f.enabled, "needs": list(f.needs)} for f in found]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(f.name) for f in found), default=0)
    for f in found:
        state = click.style("on ", fg="green") if f.enabled else click.style("off", dim=True)
        needs = f"  (needs {', '.join(f.needs)})" if f.needs else ""
        click.echo(f"{f.name:<{width}}  {state}  {f.help}{needs}")


def _switch_command(enable: bool) -> Callable[..., None]:
    verb = "enable" if enable else "disable"

    @click.argument("name")
    @click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
    @click.option("--dry-run", is_flag=True, help="List what would change; change nothing.")
    @click.option("--force", is_flag=True, help="Delete feature files even with local edits.")
    @click.option(
        "--lock/--no-lock",
        default=True,
        show_default=True,
        help="Relock uv.lock when the dependencies changed.",
    )
    @quiet_option
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
    def command(
        name: str, path: Path, dry_run: bool, force: bool, lock: bool, quiet: bool, as_json: bool
    ) -> None:
        from scaffold import features

        interrupts.leaves(
            f"{path.absolute()} may hold part of the switch; `git reset --hard &&"
            " git clean -fd` there restores its last commit"
        )
        with progress.steps(quiet) as steps:
            result = features.switch(
                path, name, enable, force=force, dry_run=dry_run, lock=lock, progress=steps
            )
        if as_json:
            click.echo(json.dumps(result.to_dict(), indent=2))
        else:
            _print(result)
        if result.conflicts:
            raise SystemExit(ExitCode.CONFLICTS)
        if result.dry_run and result.edited and not force:
            raise SystemExit(ExitCode.LOCAL_EDITS)

    command.__doc__ = (
        f"{verb.capitalize()} feature NAME in the project at PATH.\n\n"
        "Runs copier update at the project's own template version, so only the feature's"
        " files change."
    )
    return command


feature.command(name="enable", epilog=EXIT_CODES)(_switch_command(enable=True))
feature.command(name="disable", epilog=EXIT_CODES)(_switch_command(enable=False))


def _print(result: SwitchResult) -> None:
    state = "enabled" if result.enabled else "disabled"
    if result.already:
        click.secho(f"{result.feature} is already {state}; nothing to do", fg="green")
        return
    head = "Would switch" if result.dry_run else "Switched"
    also = f" (and {', '.join(result.also)} with it)" if result.also else ""
    click.secho(
        f"{head} {result.feature} {'on' if result.enabled else 'off'}{also}"
        f" at template {result.version}",
        fg="green",
    )
    add, modify = ("add", "modify") if result.dry_run else ("added", "modified")
    for kind, names in ((add, result.added), (modify, result.modified)):
        for name in names:
            click.echo(f"  {kind}: {name}")
    for key, value in result.restored:
        click.echo(f"  {'restore' if result.dry_run else 'restored'}: {key} = {value!r}")
    for name in result.removed:
        edited = " (has local edits)" if name in result.edited else ""
        click.echo(f"  {'delete' if result.dry_run else 'deleted'}: {name}{edited}")
    if result.lock_problem:
        click.secho(
            f"warning: uv.lock not updated ({result.lock_problem}); run `make lock`",
            fg="yellow",
            err=True,
        )
    if result.conflicts:
        listing = ", ".join(result.conflicts)
        click.secho(f"error: conflicts to resolve: {listing}", fg="red", err=True)
    elif result.dry_run:
        if result.edited:
            click.secho(
                f"error: {len(result.edited)} file(s) to delete have local edits;"
                " pass --force to delete them",
                fg="red",
                err=True,
            )
    else:
        click.echo(
            "Review with `git diff`, run `make check` (the checks of the features on), then commit."
        )
