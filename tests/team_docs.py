"""The team setup section of the generated README: its shell blocks, run or marked."""

from __future__ import annotations

import re

SECTION = "## Working as a team: one tracking server, one store"
# The first line of a block that only a real cloud account can run (a test runs all others).
NEEDS_A_CLOUD_ACCOUNT = "# needs a cloud account"
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def team_section(markdown: str) -> str:
    """The team setup section of a README (up to the next second-level heading)."""
    start = markdown.index(SECTION)
    end = markdown.find("\n## ", start + len(SECTION))
    return markdown[start : None if end < 0 else end]


def fenced(markdown: str, language: str) -> list[str]:
    """The contents of every fenced block of `language`, in order."""
    return [body for lang, body in _FENCE.findall(markdown) if lang == language]


def runnable(blocks: list[str]) -> list[str]:
    """The shell blocks not marked as needing a cloud account."""
    return [block for block in blocks if not block.startswith(NEEDS_A_CLOUD_ACCOUNT)]
