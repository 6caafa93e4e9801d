"""Errors a user can act on. The CLI turns each into one red line and its exit code.

Anything that is not a `ScaffoldError` is a bug in scaffold and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the `scaffold` command.

    One meaning per number across commands: 3 is conflicts for `update` and for the fleet
    commands alike, and 2 stays click's usage error, so the fleet's "updates pending" is 4.
    """

    OK = 0
    USER_ERROR = 1
    USAGE = 2
    CONFLICTS = 3
    PENDING = 4
    """Fleet commands: some repository is behind the template (or its update was skipped)."""
    REPO_FAILED = 5
    """Fleet commands: some repository failed, was unreachable, or its fleet row is invalid."""
    VERIFY_FAILED = 6
    """Fleet commands: the `--verify` command failed in some repository."""
    LOCAL_EDITS = 7
    """`feature disable`: a file it would delete has local edits (pass --force)."""
    # Interrupted: 128 + the signal's number (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), as shells do.


class ScaffoldError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code: ExitCode = ExitCode.USER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAnswerError(ScaffoldError):
    """An answer names an unknown question or has a value the question does not allow."""


class DestinationError(ScaffoldError):
    """The destination cannot be written without losing the user's files."""


class TemplateError(ScaffoldError):
    """The template source cannot be found, read or rendered."""


class RepositoryError(ScaffoldError):
    """The project is not a generated project, or its git state forbids the operation."""


class FleetError(ScaffoldError):
    """The fleet cannot be read at all (a bad row alone is reported with its line instead)."""


class LocalEditsError(ScaffoldError):
    """An operation would delete files with local edits; `--force` allows it."""

    exit_code = ExitCode.LOCAL_EDITS
