"""Where monitoring keeps its files, below the project root.

``data/feedback/`` holds production data (joined labels, the record of rows appended to the
training data); ``reports/monitoring/`` holds the latest reports, rewritten on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MonitoringFiles:
    """The files of ``make feedback``, ``make feedback-append`` and ``make monitor``."""

    labels: Path
    appended: Path
    performance: Path
    summary: Path
    report: Path

    @classmethod
    def below(cls, root: Path) -> MonitoringFiles:
        """The files below a project root."""
        feedback, reports = root / "data" / "feedback", root / "reports" / "monitoring"
        return cls(
            labels=feedback / "labels.csv",
            appended=feedback / "appended.csv",
            performance=reports / "performance.json",
            summary=reports / "summary.json",
            report=reports / "report.html",
        )
