"""What every command line of the package shares: concise logging and one-line errors.

An expected failure (a missing file, invalid data, no champion model) raises
:class:`StageError`; :func:`run_stage` prints its message prefixed with the stage's name to
stderr and returns exit status 1, without a traceback. SIGTERM ends a stage the same way,
with status 143 (see ``termination.py``). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from .errors import StageError
from .params import Params
from .settings import Settings
from .termination import EXIT_STATUS, Terminated, sigterm_raises

LOG_FORMAT = "%(module)s: %(message)s"


# pylint: disable-next=too-few-public-methods  # pylint does not see a subscripted base's
class StageLogHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs (replaced, not stacked, on each call)."""


def configure_logging(verbose: bool = False) -> None:
    """Log the package's messages to stderr, one short line each; MLflow's from warnings up.

    Only the package's loggers get a handler (and ``__main__``, the module that ``python -m``
    runs), so records still propagate to whatever the caller configured (pytest's
    ``caplog``, an application's root handler).
    """
    handler = StageLogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for logger in (logging.getLogger(__package__), logging.getLogger("__main__")):
        for old in [h for h in logger.handlers if isinstance(h, StageLogHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # Environments made by uv have no pip: MLflow then warns on every logged model that it
    # cannot pin pip's version in the model's conda.yaml, which is harmless here.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)


def run_stage(name: str, body: Callable[[], object]) -> int:
    """Run ``body``; on :class:`StageError` print ``name: message`` to stderr and return 1.

    SIGTERM, while ``body`` runs, ends it with :class:`Terminated` (MLflow marks the run
    failed, partial files are removed); the stage says so in one line and returns 143.
    """
    try:
        with sigterm_raises():
            body()
    except StageError as error:
        for line in str(error).splitlines() or [type(error).__name__]:
            print(f"{name}: {line}", file=sys.stderr)
        return 1
    except Terminated as stop:
        print(f"{name}: {stop}; stopped (an open MLflow run is marked FAILED)", file=sys.stderr)
        return EXIT_STATUS
    return 0


def make_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the first line of ``doc``, with ``-v/--verbose``."""
    lines = (doc or "").strip().splitlines()
    parser = argparse.ArgumentParser(description=lines[0] if lines else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="also log debug messages")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and configure logging as ``--verbose`` asks."""
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    return args


def stage_main(
    name: str,
    doc: str | None,
    argv: Sequence[str] | None,
    body: Callable[[Settings, Params], object],
) -> int:
    """The whole ``main`` of a stage without options of its own: parse, log, check
    params.yaml (all of it, before the stage reads or writes anything), run."""
    parse_args(make_parser(doc), argv)

    def checked_body() -> object:
        settings = Settings()
        return body(settings, settings.params)

    return run_stage(name, checked_body)
