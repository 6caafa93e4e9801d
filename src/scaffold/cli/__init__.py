"""The `scaffold` command: click over `scaffold.api`, one module per command group.

`scaffold.cli` is the only package that prints or exits (copier asks `new`'s questions
itself, through `scaffold.api`). Heavy imports (copier, the fleet) happen inside the
commands, so `scaffold --help` stays fast. Every command runs inside `ScaffoldGroup.invoke`,
the one error funnel.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from scaffold.cli import interrupts, progress
from scaffold.cli.classroom import class_group
from scaffold.cli.feature import feature
from scaffold.cli.fleet import apply, plan, status
from scaffold.cli.mirror import mirror
from scaffold.cli.new import new
from scaffold.cli.options import options_command
from scaffold.cli.update import update
from scaffold.cli.wheelhouse import wheelhouse
from scaffold.errors import ScaffoldError


class ScaffoldGroup(click.Group):
    """The `scaffold` group: its `invoke` is the one error funnel of every command.

    A `ScaffoldError` becomes one red `error:` line and its exit code; Ctrl-C, SIGTERM or
    SIGHUP become `interrupted; <what it left>` and 128 + the signal; anything else is a bug
    and keeps its traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with interrupts.stop_signals_interrupt():
                return super().invoke(ctx)
        except (KeyboardInterrupt, Exception) as error:
            stopped = interrupts.stopped_by(error)
            if stopped is not None:
                left = interrupts.left_behind(ctx)
                click.secho(f"interrupted; {left}", fg="yellow", err=True)
                raise SystemExit(interrupts.exit_code(stopped)) from None
            if isinstance(error, ScaffoldError):
                click.secho(f"error: {error.message}", fg="red", err=True)
                raise SystemExit(error.exit_code) from None
            raise  # a bug keeps its traceback; click's own errors print themselves


@click.group(cls=ScaffoldGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlops-scaffold", prog_name="scaffold")
def main() -> None:
    """Stamp out production-grade ML repositories and keep them current."""
    library = logging.getLogger("scaffold")
    if not any(isinstance(handler, _WarningLine) for handler in library.handlers):
        library.addHandler(_WarningLine(logging.WARNING))
        library.propagate = False


class _WarningLine(logging.Handler):
    """The library's warnings, one yellow `warning:` line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        progress.say(f"warning: {record.getMessage()}", "yellow")


for command in (
    new,
    update,
    options_command,
    mirror,
    status,
    plan,
    apply,
    feature,
    class_group,
    wheelhouse,
):
    main.add_command(command)
