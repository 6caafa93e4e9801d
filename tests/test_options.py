"""The options model: read from copier.yml, in sync with what copier itself records."""

from __future__ import annotations

import json
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
    recorded = yaml.safe_load((render(tmp_path / "p") / ".copier-answers.yml").read_text())
    asked = {question.name for question in api.questions() if not question.computed}
    assert asked == {key for key in recorded if not key.startswith("_")}


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
