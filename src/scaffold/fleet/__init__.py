"""Many generated repositories at once: status, planned and applied template updates.

`model` reads a fleet; the modules `status`, `plan` and `apply` each hold the function of
that name, which returns one frozen result per repository and never prints; `report` lays
results out as a table, JSON, CSV or Markdown.
"""

from scaffold.fleet.model import Fleet, Repo, from_paths, load
from scaffold.fleet.report import FORMATS, SCHEMA, render, summary, worst

__all__ = [
    "FORMATS",
    "SCHEMA",
    "Fleet",
    "Repo",
    "from_paths",
    "load",
    "render",
    "summary",
    "worst",
]
