"""`scaffold options`: the template's questions, for people and for scripts."""

from __future__ import annotations

import json

import click

from scaffold import api, options


@click.command(name="options")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--template", metavar="SRC", help="Template path (default: the bundled one).")
@click.option("--all", "show_all", is_flag=True, help="Include computed values (never asked).")
def options_command(as_json: bool, template: str | None, show_all: bool) -> None:
    """List the template's questions with type, default and choices."""
    shown = [question for question in api.questions(template) if show_all or not question.computed]
    if as_json:
        click.echo(json.dumps([question.to_dict() for question in shown], indent=2, default=str))
        return
    for question in shown:
        click.secho(question.name, bold=True, nl=False)
        click.echo(f"  ({question.type})  {question.help}")
        if question.choices:
            click.echo(
                f"    choices: {', '.join(str(value) for value in question.choices.values())}"
            )
        if not question.computed:
            derived = ", ".join(question.default_from)
            click.echo(
                f"    default: {options.show_value(question.default_value)}"
                + (f" (from {derived})" if derived else "")
            )
        if question.conditional:
            click.echo("    asked only when earlier answers call for it")
