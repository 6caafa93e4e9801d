"""The prediction log by variant: who answered each record, and the shadow answers.

In ``ab`` and ``shadow`` modes the service's response carries ``"variant": "champion"`` or
``"challenger"`` (a line without it is the champion's), and in ``shadow`` mode the log line
also holds ``"shadow"``: the challenger's answer to the same request, shaped like a response.
Each line is read with the log's own parser (``predlog.parse_line``): its records as the
response answered them, with their ``variant`` and ``shadow`` false, then, in shadow mode,
the same records as the challenger answered them, ``shadow`` true. A line the parser refuses
is skipped and counted, as ``predlog.read_log`` does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.tasks import TASK, Task
from .columns import SCHEMA, Features
from .predlog import KEY, columns, log_files, parse_line

LOG = logging.getLogger(__name__)
CHAMPION = "champion"
CHALLENGER = "challenger"
VARIANTS = (CHAMPION, CHALLENGER)


def line_rows(line: str, features: Features = SCHEMA, task: Task = TASK) -> list[dict[str, Any]]:
    """One log line's records, each with its ``variant`` and ``shadow`` flag; ``ValueError``
    says what is wrong with the line."""
    data = json.loads(line)
    if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
        raise ValueError("not a log line: no response object")
    variant = data["response"].get("variant", CHAMPION)
    if variant not in VARIANTS:
        raise ValueError(f"response.variant must be champion or challenger, not {variant!r}")
    rows = [
        {**row, "variant": variant, "shadow": False} for row in parse_line(line, features, task)
    ]
    if "shadow" in data:
        shadowed = json.dumps({**data, "response": data["shadow"]})
        rows += [
            {**row, "variant": CHALLENGER, "shadow": True}
            for row in parse_line(shadowed, features, task)
        ]
    return rows


def read_variants(directory: Path, features: Features = SCHEMA, task: Task = TASK) -> pd.DataFrame:
    """Every record of the log with ``variant`` and ``shadow``; the shadow answers as rows of
    their own (the same ``request_id`` and ``index`` as the answer sent)."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    for path in log_files(directory):
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not text.strip():
                continue
            try:
                rows += line_rows(text, features, task)
            except ValueError:
                skipped += 1
    if skipped:
        LOG.warning("%d line(s) of the log skipped (partial or malformed)", skipped)
    frame = pd.DataFrame(rows, columns=[*columns(features, task), "variant", "shadow"])
    frame = features.typed(frame)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["shadow"] = frame["shadow"].astype(bool)
    repeated = frame.duplicated(subset=[*KEY, "shadow"])
    return frame[~repeated].sort_values("time", kind="stable").reset_index(drop=True)
