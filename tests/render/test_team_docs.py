"""Render tier: the README's team setup (every shell block run by the e2e test, or marked)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support import REPO_ROOT, render
from tests.team_docs import NEEDS_A_CLOUD_ACCOUNT, fenced, runnable, team_section

# The blocks tests/e2e/test_team_server.py runs, as it expects them (it checks the same).
RUN_BY_THE_E2E_TEST = ("make repro push", "make pull verify")


def _readme_section(project: Path) -> str:
    return team_section((project / "README.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("remote", ["local", "s3"])
def test_every_shell_block_is_run_or_marked(remote: str, tmp_path: Path) -> None:
    section = _readme_section(render(tmp_path / "p", dvc_remote=remote))
    blocks = fenced(section, "sh")
    marked = [block for block in blocks if block not in runnable(blocks)]
    assert len(marked) == 1 and "mlflow server" in marked[0], marked
    assert marked[0].startswith(NEEDS_A_CLOUD_ACCOUNT)
    assert [block.split("#")[0].strip() for block in runnable(blocks)] == list(RUN_BY_THE_E2E_TEST)
    extra = "`dvc[s3]` is installed" if remote == "s3" else "then `make lock install`"
    assert extra in " ".join(section.split())


def test_the_how_to_shows_the_readme_blocks(tmp_path: Path) -> None:
    """The scaffolder's how-to runs nothing of its own: its blocks are the README's."""
    readme = fenced(_readme_section(render(tmp_path / "p")), "sh")
    how_to = (REPO_ROOT / "docs/how-to/pipeline.md").read_text(encoding="utf-8")
    shown = fenced(team_section(how_to), "sh")
    assert shown and all(block in runnable(readme) for block in shown), shown


def test_the_chart_values_are_valid_and_only_with_the_chart(tmp_path: Path) -> None:
    project = render(tmp_path / "p")
    (values,) = fenced(_readme_section(project), "yaml")
    chart = project / "charts" / "heart-disease-risk"
    schema = yaml.safe_load((chart / "values.schema.json").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))
    override = yaml.safe_load(values)
    merged = {**defaults, **override, "model": {**defaults["model"], **override["model"]}}
    jsonschema.validate(merged, schema)
    assert merged["model"]["source"] == "registry"
    without = render(tmp_path / "q", helm=False)
    assert not fenced(_readme_section(without), "yaml")
