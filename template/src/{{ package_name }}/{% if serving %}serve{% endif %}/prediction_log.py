"""The prediction log: every answered request as one JSON line, in files read back later.

``make monitor`` and ``make feedback`` read these files (docs/serving.md gives the format), so
they are files rather than stdout; a cluster's log collector can ship them too. A line holds
the request's body as received and the response's body as sent, next to the time: bytes that
already exist (the body was validated as JSON, the answer encoded to be sent), so logging
costs the same whether a request holds 1 record or 1000, and nothing is encoded twice. The
request path appends the two bodies and the time to a bounded buffer
(:meth:`PredictionLog.submit`: a lock, an append, a comparison); a writer thread joins a
quarter second's worth into lines at once (:func:`encode_lines`) and appends them to
``predictions-<UTC time>-<pid>.jsonl`` in ``PREDICTION_LOG_DIR`` (:class:`LogFiles`), which
starts a new file past a size or an age. A full buffer drops records and a failing disk
loses them: both are counted in the service's metrics, neither ever fails or slows a request.
:meth:`PredictionLog.close` writes whatever is buffered, so a clean shutdown loses nothing.
In ``shadow`` mode the writer has the challenger score each batch's records in one call before
it writes them, and each line gains the challenger's answer (``challenger.Shadow``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .telemetry import ServiceMetrics

if TYPE_CHECKING:
    from .challenger import Shadow, ShadowWork

LOG = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_AGE_SECONDS = 3600
DEFAULT_QUEUE = 10_000  # records waiting for the writer, at most
WARN_EVERY_SECONDS = 60.0  # a failing disk is reported at most this often in the log
# After a write, the writer lets records gather this long (or until half the buffer is full):
# one wake-up and one write for many requests. Each wake-up of the writer costs the busy event
# loop far more than its own work (the interpreter lock changes hands): measured with wrk at 8
# connections, 0.02 s cost 17 % of the requests/s, 0.1 s 14 % at 32, 0.2 s 1-7 %.
GATHER_SECONDS = 0.25
Clock = Callable[[], float]


@dataclass(frozen=True)
class LogSettings:
    """Where the log goes, when its files rotate, and how many records may wait
    (``PREDICTION_LOG_*``: see ``environment.py``)."""

    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
    queue_size: int = DEFAULT_QUEUE


# One answered request as the request path hands it over, bytes it already has: when it was
# answered (seconds since the epoch), the request's body as received (valid JSON,
# {"records": [...]}) and the response's body as sent (JSON: "request_id", "predictions").
Exchange = tuple[float, bytes, bytes]
_TIME = b'{"time": "'
_REQUEST = b'+00:00", "request": '
_RESPONSE = b', "response": '
_END = b"}\n"


def encode_lines(exchanges: Sequence[Exchange]) -> bytes:
    """JSON lines, one per exchange (the format of docs/serving.md), by concatenation: nothing
    parsed or encoded, and each second's part of the time formatted once for all its lines."""
    parts: list[bytes] = []
    second, stamp = -1, b""
    for when, request, response in exchanges:
        seconds, micros = divmod(round(when * 1_000_000), 1_000_000)
        if seconds != second:
            second, stamp = seconds, _TIME + _iso_second(seconds).encode()
        parts += (stamp, b".%06d" % micros, _REQUEST, request, _RESPONSE, response, _END)
    data = b"".join(parts)
    if data.count(b"\n") == len(exchanges) and b"\r" not in data:
        return data
    # A body with line breaks (whitespace between JSON's tokens): rare, so checked per batch.
    return encode_lines([(when, one_line(req), one_line(resp)) for when, req, resp in exchanges])


def one_line(body: bytes) -> bytes:
    """A JSON body without line breaks: in valid JSON they can only be whitespace between
    tokens (inside a string they are escaped), so a space stands in for each."""
    return body.replace(b"\n", b" ").replace(b"\r", b" ")


def _iso_second(seconds: int) -> str:
    """The second's part of a line's ISO 8601 time (:func:`encode_lines` formats it once a
    second and adds the microseconds and ``+00:00``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def file_name(when: float, pid: int) -> str:
    """``predictions-20261201T234000Z-1234.jsonl``: UTC start time and writer process."""
    return f"predictions-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when))}-{pid}.jsonl"


def with_shadow(shadow: Shadow, batch: list[Exchange], work: list[ShadowWork]) -> list[Exchange]:
    """The batch with the challenger's answers attached to its responses; as it was if that
    fails (the lines are written without their shadow rather than lost with it)."""
    try:
        responses = shadow.attach([response for _, _, response in batch], work)
    except Exception:  # pylint: disable=broad-exception-caught  # a bug: logged, lines kept
        LOG.exception("challenger: shadow answers not attached")
        return batch
    return [
        (when, request, response)
        for (when, request, _), response in zip(batch, responses, strict=True)
    ]


class LogFiles:  # pylint: disable=too-many-instance-attributes  # settings and open file
    """Append-only JSON Lines files in a directory, a new one past a size or an age.

    Each :meth:`append` is written whole or not at all: a write that fails midway is cut back
    to the last complete line, and the next append starts a new file. Files are named after
    the second they start in, so a new file starts at most once a second.
    """

    def __init__(
        self, directory: Path, max_bytes: int, max_age_seconds: float, clock: Clock = time.time
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self.path: Path | None = None
        self._fd: int | None = None
        self._size = 0
        self._opened_at = 0.0

    def append(self, data: bytes) -> None:
        """Append complete lines; OSError (nothing of ``data`` kept) when the disk refuses."""
        fd = self._current(len(data))
        written = 0
        try:
            while written < len(data):
                written += self._write(fd, data[written:])
        except OSError:
            self._cut_back(fd)
            self.close()
            raise
        self._size += written

    def _write(self, fd: int, data: bytes) -> int:
        """One write system call (a seam for tests of a write that fails midway)."""
        return os.write(fd, data)

    def _cut_back(self, fd: int) -> None:
        """Remove a partly written line, if the file system lets us."""
        try:
            os.ftruncate(fd, self._size)
        except OSError:
            LOG.warning("prediction log: cannot remove a partly written line from %s", self.path)

    def _current(self, incoming: int) -> int:
        """The open file, or a new one when it is due (too big or too old)."""
        now = self.clock()
        if self._fd is not None:
            too_big = self._size > 0 and self._size + incoming > self.max_bytes
            too_old = now - self._opened_at >= self.max_age_seconds
            same_name = self.directory / file_name(now, os.getpid()) == self.path
            if not (too_big or too_old) or same_name:
                return self._fd
            self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / file_name(now, os.getpid())
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fd, self.path, self._opened_at = fd, path, now
        self._size = os.fstat(fd).st_size
        return fd

    def close(self) -> None:
        """Close the current file; the next append opens a new one."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                LOG.warning("prediction log: cannot close %s", self.path)


class PredictionLog:  # pylint: disable=too-many-instance-attributes  # buffer and thread
    """A bounded buffer of answered requests and the thread that writes them to
    :class:`LogFiles`; the buffer is counted in records, as the metrics are."""

    def __init__(
        self,
        settings: LogSettings,
        metrics: ServiceMetrics,
        clock: Clock = time.time,
        shadow: Shadow | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.shadow = shadow
        self.files = LogFiles(
            settings.directory, settings.max_bytes, settings.max_age_seconds, clock
        )
        self._lock = threading.Lock()  # guards the five fields below
        self._pending: list[Exchange] = []
        self._work: list[ShadowWork] = []  # with a shadow: each pending exchange's records
        self._records = 0  # records in _pending
        self._closing = False
        self._idle = False  # the writer waits for a first request, with no pause running
        self._due = threading.Event()  # wakes the writer: work after idling, half full, closing
        self._hurry_at = max(1, settings.queue_size // 2)  # records
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._warned_at = -WARN_EVERY_SECONDS

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def submit(  # pylint: disable=too-many-arguments  # an exchange and its records
        self,
        when: float,
        request: bytes,
        response: bytes,
        records: int,
        work: ShadowWork | None = None,
    ) -> None:
        """Queue an answered request (an :data:`Exchange` and its number of records; with a
        shadow, its ``work``), or drop it, its records counted, when the buffer is full. The
        request path pays for a lock, an append and a comparison: the writer thread makes the
        lines."""
        with self._lock:
            if self._closing or self._records + records > self.settings.queue_size:
                wake = None  # dropped
            else:
                self._pending.append((when, request, response))
                if work is not None:
                    self._work.append(work)
                self._records += records
                wake = self._idle or self._records >= self._hurry_at
                self._idle = False
        if wake is None:
            self.metrics.log_dropped.inc(records)
        elif wake and not self._due.is_set():
            self._due.set()

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, then stop the writer and close the file."""
        with self._lock:
            self._closing = True
        self._due.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        """Write what gathered, then pause; until closed and drained."""
        while True:
            with self._lock:
                batch, count, closing = self._pending, self._records, self._closing
                work = self._work
                self._pending, self._work, self._records = [], [], 0
                self._idle = not batch
            if batch and self.shadow is not None:
                batch = with_shadow(self.shadow, batch, work)
            if batch:
                self._write(batch, count)
            elif closing:
                self.files.close()
                return
            if not closing:  # else drain without pausing
                self._due.wait(GATHER_SECONDS if batch else None)
                self._due.clear()

    def _write(self, batch: list[Exchange], count: int) -> None:
        """Append a batch's lines in one write; count its records as written or as lost."""
        try:
            self.files.append(encode_lines(batch))
        # The writer must outlive any one batch: a full disk, a missing permission, or a bug.
        except Exception as error:  # pylint: disable=broad-exception-caught
            self.metrics.log_errors.inc(count)
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = now
                LOG.warning("prediction log: %d record(s) lost: %s", count, error)
        else:
            self.metrics.log_records.inc(count)
