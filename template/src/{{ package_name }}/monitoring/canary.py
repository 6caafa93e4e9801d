"""Canary check: is the canary release at least as good as the stable track? (make canary-check)

Usage, from the project root::

    PROMETHEUS_URL=http://prometheus.monitoring:9090 python -m <package>.monitoring.canary

Reads from Prometheus' HTTP API (``query_range``) the service's ``POST /predict`` counters of
the last ``canary.window_seconds``, by their ``track`` label (``stable`` or ``canary``, which
the chart's ServiceMonitor copies from the pods), one sample per ``canary.step_seconds``: the
step's error ratio (5xx among the requests) and mean latency, over that step alone. Steps
without requests are no samples. Each metric is compared with one-sided Mann-Whitney U tests
(scipy) against the stable track's samples plus a non-inferiority margin (``error_margin``
added to the error ratio, ``latency_margin`` times the latency): the canary is *worse* when
its samples are significantly above that bound, *non-inferior* when significantly below it.

Exit status: 0 promote (non-inferior on both), 3 abort (worse on either), 4 not enough data
yet (fewer than ``min_samples`` per track, or neither verdict significant), 1 an error (no
``PROMETHEUS_URL``, Prometheus unreachable, bad params.yaml). One line on stdout says why, in
numbers. The verdict is also written to ``reports/canary/check.json`` (``status``, ``verdict``,
``line``, ``checked_at``): ``make`` turns every failing exit status into 2, so a workflow reads
the status from there, and ``make canary-promote`` records the line with the promotion. The
file is removed when a check starts, so an error leaves no earlier verdict behind.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ..cli import make_parser, parse_args, run_stage
from ..errors import StageError
from ..files import write_text
from ..params import CanaryParams
from ..settings import Settings

PROMETHEUS_URL_ENV = "PROMETHEUS_URL"
TRACKS = ("canary", "stable")
PROMOTE, ABORT, NOT_YET = 0, 3, 4
VERDICTS = {PROMOTE: "promote", ABORT: "abort", NOT_YET: "not enough evidence yet"}
TIMEOUT_SECONDS = 30.0
# The increase over one step of each counter of /predict, by track.
SERIES = {
    "requests": "http_requests_total",
    "errors": "http_requests_total",
    "latency_sum": "http_request_duration_seconds_sum",
    "latency_count": "http_request_duration_seconds_count",
}


def query(series: str, selector: str, step: int) -> str:
    """PromQL: one counter's increase over each step, summed by track."""
    matchers = ['endpoint="/predict"', 'track=~"canary|stable"']
    if series == "errors":
        matchers.append('status=~"5.."')
    if selector.strip():
        matchers.append(selector.strip())
    selected = SERIES[series] + "{" + ", ".join(matchers) + "}"
    return f"sum by (track) (increase({selected}[{step}s]))"


def query_range(url: str, promql: str, start: float, end: float, step: int) -> Any:
    """The ``data.result`` of one ``/api/v1/query_range`` call; a :class:`StageError` if it
    cannot be had."""
    params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
    address = f"{url.rstrip('/')}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(address, timeout=TIMEOUT_SECONDS) as answer:
            body = json.load(answer)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:200]
        raise StageError(f"Prometheus at {url} answered {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise StageError(f"cannot query Prometheus at {url}: {error}") from None
    if body.get("status") != "success":
        raise StageError(f"Prometheus at {url} refused the query: {body.get('error')}")
    return body["data"]["result"]


def by_track(result: Any) -> dict[str, dict[float, float]]:
    """Each track's ``timestamp -> value`` of a range query's matrix."""
    found: dict[str, dict[float, float]] = {track: {} for track in TRACKS}
    for series in result:
        track = series["metric"].get("track")
        if track in found:
            found[track] = {float(when): float(value) for when, value in series["values"]}
    return found


@dataclass(frozen=True)
class Samples:
    """One track's samples: each step's error ratio and mean latency (seconds)."""

    errors: np.ndarray
    latency: np.ndarray

    @classmethod
    def of(cls, track: str, counters: Mapping[str, dict[str, dict[float, float]]]) -> Samples:
        """The steps of ``track`` in which it answered requests (and recorded their latency)."""
        requests = counters["requests"][track]
        errors, latency = [], []
        for when, count in sorted(requests.items()):
            timed = counters["latency_count"][track].get(when, 0.0)
            if count <= 0 or timed <= 0 or not np.isfinite(count):
                continue
            errors.append(counters["errors"][track].get(when, 0.0) / count)
            latency.append(counters["latency_sum"][track].get(when, 0.0) / timed)
        return cls(np.array(errors), np.array(latency))

    def __len__(self) -> int:
        return len(self.errors)


@dataclass(frozen=True)
class Comparison:
    """One metric: the canary's samples against the stable track's plus the margin."""

    name: str
    canary: float  # median of the canary's samples
    stable: float  # median of the stable track's samples
    worse_p: float  # one-sided p-value: the canary above the bound
    better_p: float  # one-sided p-value: the canary below the bound (non-inferior)

    @classmethod
    def of(cls, name: str, canary: np.ndarray, stable: np.ndarray, bound: np.ndarray) -> Comparison:
        """Both one-sided tests of ``canary`` against ``bound`` (the stable samples + margin)."""
        worse = stats.mannwhitneyu(canary, bound, alternative="greater")
        better = stats.mannwhitneyu(canary, bound, alternative="less")
        return cls(
            name,
            float(np.median(canary)),
            float(np.median(stable)),
            float(np.nan_to_num(worse.pvalue, nan=1.0)),
            float(np.nan_to_num(better.pvalue, nan=1.0)),
        )


def compare(canary: Samples, stable: Samples, params: CanaryParams) -> list[Comparison]:
    """Error ratio and latency of the canary against the stable track's, with the margins."""
    return [
        Comparison.of(
            "error ratio", canary.errors, stable.errors, stable.errors + params.error_margin
        ),
        Comparison.of(
            "latency", canary.latency, stable.latency, stable.latency * (1 + params.latency_margin)
        ),
    ]


def verdict(comparisons: Sequence[Comparison], alpha: float) -> int:
    """Abort if any metric is worse, promote if every one is non-inferior, else not yet."""
    if any(found.worse_p < alpha for found in comparisons):
        return ABORT
    if all(found.better_p < alpha for found in comparisons):
        return PROMOTE
    return NOT_YET


def describe(status: int, comparisons: Sequence[Comparison], sizes: tuple[int, int]) -> str:
    """The verdict in one line of numbers."""
    word = VERDICTS[status]
    error, latency = comparisons
    return (
        f"{word}: error ratio canary {error.canary:.4f} vs stable {error.stable:.4f} "
        f"(p worse {error.worse_p:.3g}, p non-inferior {error.better_p:.3g}); "
        f"latency canary {latency.canary * 1000:.2f} ms vs stable {latency.stable * 1000:.2f} ms "
        f"(p worse {latency.worse_p:.3g}, p non-inferior {latency.better_p:.3g}); "
        f"samples canary {sizes[0]}, stable {sizes[1]} (medians per step)"
    )


def check(url: str, params: CanaryParams, now: float) -> tuple[int, str]:
    """The exit status and its line, from Prometheus at ``url`` up to ``now``."""
    step, start = params.step_seconds, now - params.window_seconds
    counters = {
        name: by_track(query_range(url, query(name, params.selector, step), start, now, step))
        for name in SERIES
    }
    canary, stable = (Samples.of(track, counters) for track in TRACKS)
    if min(len(canary), len(stable)) < params.min_samples:
        return NOT_YET, (
            f"not enough data yet: {len(canary)} canary and {len(stable)} stable steps with "
            f"requests to /predict in the last {params.window_seconds} s "
            f"(step {step} s), {params.min_samples} needed per track"
        )
    comparisons = compare(canary, stable, params)
    status = verdict(comparisons, params.alpha)
    return status, describe(status, comparisons, (len(canary), len(stable)))


def record(path: Path, status: int, line: str, now: float) -> None:
    """Write the verdict where a workflow and ``make canary-promote`` read it."""
    result = {
        "status": status,
        "verdict": VERDICTS[status],
        "line": line,
        "checked_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
    }
    write_text(path, json.dumps(result, indent=2) + "\n")


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    args = parse_args(make_parser(__doc__), argv)
    del args
    environ = os.environ if environ is None else environ
    outcome: list[tuple[int, str]] = []

    def body() -> None:
        url = environ.get(PROMETHEUS_URL_ENV, "").strip()
        if not url:
            raise StageError(
                f"{PROMETHEUS_URL_ENV} is not set: the Prometheus that scrapes both tracks, "
                "e.g. http://prometheus-operated.monitoring:9090"
            )
        settings = Settings()
        settings.canary_check.unlink(missing_ok=True)
        now = time.time()
        status, line = check(url, settings.params.canary, now)
        record(settings.canary_check, status, line, now)
        outcome.append((status, line))

    status = run_stage("canary-check", body)
    if status:
        return status
    code, line = outcome[0]
    print(f"canary-check: {line}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
