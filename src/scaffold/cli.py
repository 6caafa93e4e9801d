"""The `scaffold` command: a thin click layer over `scaffold.api`.

The only module that prints, prompts or exits. Heavy imports (copier) happen inside the
commands, so `scaffold --help` stays fast. Every `ScaffoldError` becomes one red line
on stderr and its exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from scaffold import _cli_class, _cli_feature, _cli_fleet, api, options
from scaffold._cli_options import (
    data_option,
    dataset_options,
    template_options,
    vcs_ref_option,
)
from scaffold.api import Progress
from scaffold.dataset import TABLE_SUFFIXES, Dataset
from scaffold.errors import ExitCode, InvalidAnswerError, ScaffoldError

T = TypeVar("T")
UPDATE_JSON_SCHEMA = 1
"""Version of `scaffold update --json`'s object: raised when a key changes or goes."""
_NOTHING_LEFT = "nothing was left behind"


def _run(
    action: Callable[[Progress], T], quiet: bool = False, on_interrupt: str = _NOTHING_LEFT
) -> T:
    """The one error funnel: user errors become a line and an exit code.

    `action` receives the progress callback; its last step is closed before any message.
    `on_interrupt` tells the user, after Ctrl-C, what state the command left.
    """
    steps = _Steps(quiet)
    try:
        with _stop_signals_interrupt():
            return action(steps)
    except (KeyboardInterrupt, Exception) as error:
        steps.close()
        # Ctrl-C or a stop signal, also when a clean-up failed as it unwound (copier's
        # temporary directory still being written by git), wins over the error it caused.
        stopped = error if isinstance(error, KeyboardInterrupt) else _interruption(error)
        if stopped is not None:
            click.secho(f"interrupted; {on_interrupt}", fg="yellow", err=True)
            raise SystemExit(128 + getattr(stopped, "signum", signal.SIGINT)) from None
        if isinstance(error, ScaffoldError):
            click.secho(f"error: {error.message}", fg="red", err=True)
            raise SystemExit(error.exit_code) from None
        raise  # a bug keeps its traceback
    finally:
        steps.close()


def _interruption(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or stop signal that `error` was raised while handling, if any."""
    seen = error.__context__
    for _ in range(100):  # a context chain is short; this only bounds a pathological one
        if seen is None or isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__context__
    return None


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that the same clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: object) -> None:
    raise _Stopped(signum)


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM (CI timeouts) and SIGHUP (a closed terminal) interrupt it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in stops}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Steps:
    """Prints each step as it starts and, when it took over a second, how long it took."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._open: tuple[str, float] | None = None

    def __call__(self, message: str) -> None:
        self.close()
        if not self.quiet:
            click.secho(f"• {message} …", fg="cyan", err=True)
        self._open = (message, time.monotonic())

    def close(self) -> None:
        """End the open step, saying how long it took if that was over a second."""
        if self._open and not self.quiet:
            elapsed = time.monotonic() - self._open[1]
            if elapsed >= 1:
                click.secho(f"  {self._open[0]}: {elapsed:.1f} s", dim=True, err=True)
        self._open = None


def _answers(data: tuple[str, ...], data_file: Path | None) -> dict[str, Any]:
    if data_file is not None and data_file.suffix.lower() in TABLE_SUFFIXES:
        raise InvalidAnswerError(
            f"--data-file takes a YAML file of answers; {data_file} is a table: make a project "
            f"from it with --dataset {data_file} --target COLUMN"
        )
    answers: dict[str, Any] = options.load_data_file(data_file) if data_file else {}
    answers.update(options.parse_pairs(data))
    return answers


_quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="Print only errors and the result."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
        click.secho(f"warning: {record.getMessage()}", fg="yellow", err=True)


@main.command()
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
@_quiet_option
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

    def create(steps: Progress) -> api.CreateResult:
        dataset = _dataset(**table)
        answers = _answers(data, data_file)
        if not defaults and not sys.stdin.isatty():
            raise InvalidAnswerError("no terminal to ask the questions on; pass --defaults")
        return api.create(
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

    result = _run(create, quiet)
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
    if table["dataset"] is not None:
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


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@vcs_ref_option
@data_option
@_quiet_option
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
    result = _run(
        lambda steps: api.update(
            path,
            _answers(data, None),
            vcs_ref=vcs_ref,
            lock=lock,
            progress=steps,
            release=release,
        ),
        quiet,
        on_interrupt=(
            f"{path.absolute()} may hold part of the update; `git reset --hard && git clean -fd`"
            " there restores its last commit (the update started from a clean work tree)"
        ),
    )
    if as_json:
        click.echo(json.dumps({"schema": UPDATE_JSON_SCHEMA, **result.to_dict()}, indent=2))
    else:
        _print_update(result)
    if result.conflicts:
        raise SystemExit(ExitCode.CONFLICTS)


def _print_update(result: api.UpdateResult) -> None:
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


@main.command(name="options")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--template", metavar="SRC", help="Template path (default: the bundled one).")
@click.option("--all", "show_all", is_flag=True, help="Include computed values (never asked).")
def options_command(as_json: bool, template: str | None, show_all: bool) -> None:
    """List the template's questions with type, default and choices."""
    found = _run(lambda _steps: api.questions(template))
    shown = [question for question in found if show_all or not question.computed]
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


@main.command()
def mirror() -> None:
    """Refresh the local template repository (run once after upgrading, for plain copier)."""
    ref, versions = _run(lambda _steps: (api.sync_mirror(), api.mirror_versions()))
    click.echo(f"Template mirror: {ref.src}")
    click.echo(f"Installed version: {ref.vcs_ref}")
    click.echo(f"Versions held: {', '.join(versions)}")


_cli_fleet.register(main, _run)
_cli_feature.register(main, _run)
_cli_class.register(main, _run)
