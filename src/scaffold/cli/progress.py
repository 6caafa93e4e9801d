"""What a long command is doing, on stderr: rich's live display on a terminal, lines elsewhere.

Steps (`new`, `update`, `feature enable|disable`): on a terminal, a spinner per step with
its elapsed time; otherwise `• Step …` as each starts and `  Step: 2.3 s` when it took over a
second. Fleets and classes: on a terminal, a bar with counts, elapsed time and an estimate,
gone when the report prints; otherwise nothing, the report says it all. rich is imported
only when it draws, so `scaffold --help` stays fast.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from scaffold.api import Progress as StepCallback

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn, TaskID


def _on_terminal() -> bool:
    return sys.stderr.isatty()


_DRAWING: list[Progress] = []
"""The live display on the terminal now, if any: lines printed meanwhile must go above it."""


@contextmanager
def _display(*columns: ProgressColumn, transient: bool) -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import Progress

    with Progress(*columns, console=Console(stderr=True), transient=transient) as display:
        _DRAWING.append(display)
        try:
            yield display
        finally:
            _DRAWING.remove(display)


def say(line: str, color: str) -> None:
    """`line` on stderr in `color`; above the live display while one draws, not over it."""
    if _DRAWING:
        from rich.text import Text

        _DRAWING[-1].console.print(Text(line, style=color))
    else:
        click.secho(line, fg=color, err=True)


@contextmanager
def steps(quiet: bool, *, live: bool = True) -> Iterator[StepCallback]:
    """The `progress` callback for the library, closed (its last step ended) on leaving.

    `live=False` keeps plain lines on a terminal too: for a command that may ask questions
    there, which a live display would draw over.
    """
    if quiet:
        yield lambda _message: None
    elif live and _on_terminal():
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        with _display(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            transient=False,
        ) as display:
            shown = _LiveSteps(display)
            yield shown
            shown.close()  # not on an error: its step keeps the spinner where it stopped
    else:
        lines = _LineSteps()
        try:
            yield lines
        finally:
            lines.close()


class _LiveSteps:
    """Each step a row of the live display; starting one finishes the one before."""

    def __init__(self, display: Progress) -> None:
        self._display = display
        self._open: TaskID | None = None

    def __call__(self, message: str) -> None:
        self.close()
        self._open = self._display.add_task(message, total=1)

    def close(self) -> None:
        """Mark the open step done: a tick, its elapsed time frozen."""
        if self._open is not None:
            self._display.update(self._open, completed=1)
        self._open = None


class _LineSteps:
    """Each step a line as it starts and, when it took over a second, how long it took."""

    def __init__(self) -> None:
        self._open: tuple[str, float] | None = None

    def __call__(self, message: str) -> None:
        self.close()
        click.secho(f"• {message} …", fg="cyan", err=True)
        self._open = (message, time.monotonic())

    def close(self) -> None:
        """End the open step, saying how long it took if that was over a second."""
        if self._open:
            elapsed = time.monotonic() - self._open[1]
            if elapsed >= 1:
                click.secho(f"  {self._open[0]}: {elapsed:.1f} s", dim=True, err=True)
        self._open = None


@contextmanager
def repositories(total: int) -> Iterator[Callable[[Any], None]]:
    """The `on_done` callback of a fleet or class command: advances the bar by one result."""
    if total <= 1 or not _on_terminal():
        yield lambda _result: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with _display(
        TextColumn("repositories"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}"),
        transient=True,
    ) as display:
        task = display.add_task("", total=total, last="")
        yield lambda result: display.update(task, advance=1, last=result.id)
