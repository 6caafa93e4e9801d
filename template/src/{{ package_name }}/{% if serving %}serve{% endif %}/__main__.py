"""Serve the champion model over HTTP (FastAPI on uvicorn, one worker).

Usage, from the project root::

    python -m <package>.serve [--host 127.0.0.1] [--port 8000]

Settings come from the environment, checked by ``environment.py`` (flags win): ``SERVE_HOST``
(default 127.0.0.1), ``SERVE_PORT`` (8000), ``SERVE_MAX_RECORDS`` (records per request, 1000),
``SERVE_MAX_BODY_BYTES`` (1 MiB), ``SERVE_DOCS`` (``false``: no ``/docs``, ``/redoc`` or
``/openapi.json``), ``METRICS_PORT`` (set: ``/metrics`` is served only there, by a second
listener in the same process on the same host), ``PREDICTION_LOG_DIR`` (where to log every
prediction; unset: no log, see ``prediction_log.py``), and the model's source: ``MODEL_DIR``,
else ``MODEL_URI`` and ``MLFLOW_TRACKING_URI`` (see ``model.py``); ``CHALLENGER_MODE``
(``off``, ``shadow`` or ``ab``), ``CHALLENGER_SHARE`` and the challenger's source (see
``challenger.py``). When no model can be loaded, or the metrics port cannot be bound, the
server stops and the command exits with status 1 after one line on stderr. SIGTERM and Ctrl-C
stop it cleanly: requests in flight are answered first, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import partial

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..cli import make_parser, parse_args
from ..errors import StageError
from ..settings import Settings
from .app import create_app
from .environment import ServiceSettings
from .model import ModelSource, load
from .telemetry import ServiceMetrics

METRICS_START_SECONDS = 10.0  # bound on the metrics listener's start and stop


def parse(argv: Sequence[str] | None, settings: ServiceSettings) -> argparse.Namespace:
    """The command line, with defaults from the environment's settings."""
    parser = make_parser(__doc__)
    parser.add_argument("--host", default=settings.host, help="address to bind")
    parser.add_argument(
        "--port", type=int, default=settings.port, help="port to listen on (0: any free port)"
    )
    return parse_args(parser, argv)


def metrics_app(metrics: ServiceMetrics) -> Starlette:
    """An application that serves ``GET /metrics`` and nothing else (404 for any other path)."""

    async def exposition(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", exposition, methods=["GET"])])


@contextmanager
def metrics_listener(metrics: ServiceMetrics, host: str, port: int) -> Iterator[None]:
    """Serve ``/metrics`` on ``host:port`` from a thread of this process while the block runs.

    A thread is not the main thread, so its uvicorn leaves the signals to the main server.
    """
    config = uvicorn.Config(
        metrics_app(metrics), host=host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    def run() -> None:
        with suppress(SystemExit):  # how uvicorn gives up when it cannot bind: said below
            server.run()

    thread = threading.Thread(target=run, name="metrics-listener", daemon=True)
    thread.start()
    deadline = time.monotonic() + METRICS_START_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.01)
    if not server.started:  # uvicorn logged why (e.g. the address is in use)
        server.should_exit = True
        raise StageError(f"cannot serve /metrics on {host}:{port} (METRICS_PORT)")
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(METRICS_START_SECONDS)


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
        docs=settings.docs,
        metrics_route=settings.metrics_port is None,
    )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, workers=1, log_level="info", access_log=False
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; a no-op handler
    # makes that a normal return, so that a graceful stop exits with status 0.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if settings.metrics_port is None:
            server.run()
        else:
            with metrics_listener(app.state.metrics, args.host, settings.metrics_port):
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
