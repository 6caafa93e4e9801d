"""Serve the champion model over HTTP (FastAPI on uvicorn, one worker).

Usage, from the project root::

    python -m <package>.serve [--host 127.0.0.1] [--port 8000]

Settings come from the environment, checked by ``environment.py`` (flags win): ``SERVE_HOST``
(default 127.0.0.1), ``SERVE_PORT`` (8000), ``SERVE_MAX_RECORDS`` (records per request, 1000),
``SERVE_MAX_BODY_BYTES`` (1 MiB), ``PREDICTION_LOG_DIR`` (where to log every prediction; unset:
no log, see ``prediction_log.py``), and the model's source: ``MODEL_DIR``, else ``MODEL_URI`` and
``MLFLOW_TRACKING_URI`` (see ``model.py``); ``CHALLENGER_MODE`` (``off``, ``shadow`` or ``ab``),
``CHALLENGER_SHARE`` and the challenger's source (see ``challenger.py``). When no model can be
loaded the server stops and the command exits with status 1 after one line on stderr. SIGTERM
and Ctrl-C stop it cleanly: requests in flight are answered first, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping, Sequence
from functools import partial

import uvicorn

from ..cli import make_parser, parse_args
from ..errors import StageError
from ..settings import Settings
from .app import create_app
from .environment import ServiceSettings
from .model import ModelSource, load


def parse(argv: Sequence[str] | None, settings: ServiceSettings) -> argparse.Namespace:
    """The command line, with defaults from the environment's settings."""
    parser = make_parser(__doc__)
    parser.add_argument("--host", default=settings.host, help="address to bind")
    parser.add_argument(
        "--port", type=int, default=settings.port, help="port to listen on (0: any free port)"
    )
    return parse_args(parser, argv)


def serve(
    args: argparse.Namespace, settings: ServiceSettings, environ: Mapping[str, str] | None
) -> int:
    """Run the server until it is stopped; 1 when the model cannot be loaded."""
    source = ModelSource.from_env(Settings(), environ)
    mode = settings.challenger_mode
    rival = ModelSource.from_env(Settings(), environ, challenger=True) if mode != "off" else None
    failures: list[str] = []
    server: uvicorn.Server | None = None

    def stop(reason: str) -> None:
        failures.append(reason)
        if server is not None:
            server.should_exit = True

    app = create_app(
        lambda: load(source),
        max_records=settings.max_records,
        max_body_bytes=settings.max_body_bytes,
        prediction_log=settings.prediction_log,
        on_failure=stop,
        challenger=None if rival is None else partial(load, rival),
        challenger_mode=mode,
        challenger_share=settings.challenger_share,
    )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, workers=1, log_level="info", access_log=False
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; a no-op handler
    # makes that a normal return, so that a graceful stop exits with status 0.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failures:
        print(f"serve: {failures[0]}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    try:
        settings = ServiceSettings.read(environ)
        return serve(parse(argv, settings), settings, environ)
    except StageError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
