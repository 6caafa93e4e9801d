"""The options model: read from copier.yml, in sync with what copier itself records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from scaffold import api, options
from scaffold.errors import InvalidAnswerError
from tests.support import REPO_ROOT, render, scaffold


def test_every_question_has_type_and_help() -> None:
    raw = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    questions = {name: spec for name, spec in raw.items() if not name.startswith("_")}
    assert questions
    for name, spec in questions.items():
        assert spec.get("type"), f"{name} has no type"
        assert str(spec.get("help", "")).strip(), f"{name} has no help"
    assert raw["_subdirectory"] == "template"
    assert "_tasks" not in raw, "tasks force --trust; post-generation work belongs in scaffold"


def test_model_matches_what_copier_records(tmp_path: Path) -> None:
    """Same questions, and the model's rendered defaults are the answers copier's defaults give."""
    recorded = yaml.safe_load((render(tmp_path / "p") / ".copier-answers.yml").read_text())
    # `dataset` and `task` are recorded only with a table (scaffold new --dataset).
    unanswered = {"dataset", "task"}
    asked = {
        q.name: q.default_value
        for q in api.questions()
        if not q.computed and q.name not in unanswered
    }
    assert asked == {key: value for key, value in recorded.items() if not key.startswith("_")}


def _documented_questions() -> list[list[str]]:
    """The cells of each row of the Questions table in docs/reference/options.md."""
    page = (REPO_ROOT / "docs" / "reference" / "options.md").read_text(encoding="utf-8")
    table = page.split("## Questions", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_documented_defaults_are_what_scaffold_options_reports() -> None:
    """The options page shows each default as `scaffold options --json` computes it."""
    done = scaffold("options", "--json", cwd=REPO_ROOT, check=True)
    listed = {item["name"]: item for item in json.loads(done.stdout)}
    documented = _documented_questions()
    assert [row[0].strip("`") for row in documented] == list(listed)
    for name, type_name, default, *_ in documented:
        item = listed[name.strip("`")]
        assert type_name == item["type"], name
        value = item["default_value"]
        shown = value if isinstance(value, str) else json.dumps(value)
        code, _, note = default.partition("` ")
        assert code.strip("`").replace("\\|", "|") == shown, name
        sources = re.findall(r"`(\w+)`", note)
        assert sources == item["default_from"], name
        if note.startswith("(same as"):
            assert value == listed[sources[0]]["default_value"], name
    assert listed["serving"]["default_value"] is True
    assert listed["docker"]["default_from"] == ["serving"]
    assert listed["project_slug"]["default_value"] == "heart-disease-risk"


def test_options_json_lists_every_question_with_default_and_choices() -> None:
    done = scaffold("options", "--json", "--all", cwd=REPO_ROOT, check=True)
    listed = {item["name"]: item for item in json.loads(done.stdout)}
    assert set(listed) == {question.name for question in api.questions()}
    assert listed["license"]["choices"] == ["MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"]
    assert listed["installer"]["default"] == "uv"
    assert listed["copyright_year"]["computed"] is True


@pytest.mark.parametrize(
    ("answers", "needle"),
    [
        ({"pakage_name": "x"}, "did you mean 'package_name'"),
        ({"license": "GPL"}, "allowed values: MIT, Apache-2.0, BSD-3-Clause, proprietary"),
        ({"installer": "conda"}, "allowed values: uv, pip"),
        ({"copyright_year": "1999"}, "unknown question 'copyright_year'"),
    ],
)
def test_check_answers_rejects(answers: dict[str, str], needle: str) -> None:
    with pytest.raises(InvalidAnswerError, match=needle.replace("(", r"\(")):
        options.check_answers(answers, api.questions())


def test_parse_pairs() -> None:
    assert options.parse_pairs(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InvalidAnswerError, match="key=value"):
        options.parse_pairs(["novalue"])


@pytest.mark.parametrize(
    ("value", "meant"),
    [
        *[(word, True) for word in ("true", "YES", "y", "On", "1", " yes ", True, 1)],
        *[(word, False) for word in ("false", "No", "N", "OFF", "0", False, 0)],
        *[(word, None) for word in ("maybe", "2", "-1", "1.0", "t", "", "none", 2, 0.0, None)],
    ],
)
def test_one_rule_for_yes_no_answers(value: object, meant: bool | None) -> None:
    """Anything that is not clearly yes or no is refused, never guessed (copier says true)."""
    assert options.parse_bool(value) is meant
