"""The template's questions, read from its `copier.yml`, and checks on answers given up front.

copier.yml is the single source of truth: this module never restates a question. Copier
itself runs each question's `validator` while rendering; here we catch what copier lets
through silently (unknown keys) and give choice errors that list the allowed values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaffold.errors import InvalidAnswerError, TemplateError

CONFIG_NAMES = ("copier.yml", "copier.yaml")


@dataclass(frozen=True)
class Question:
    """One question of the template, as `scaffold options` shows it."""

    name: str
    type: str
    help: str
    default: Any = None
    choices: dict[str, Any] = field(default_factory=dict)
    computed: bool = False
    """`when: false`: derived by the template, never asked, not stored in the answers file."""
    conditional: bool = False
    """`when` is a Jinja expression: asked only if earlier answers call for it."""
    validated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for `scaffold options --json`)."""
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "default": self.default,
            "choices": list(self.choices.values()),
            "computed": self.computed,
            "conditional": self.conditional,
        }


def find_config(template_root: Path) -> Path:
    """The copier config file at the template's root."""
    for name in CONFIG_NAMES:
        if (template_root / name).is_file():
            return template_root / name
    raise TemplateError(f"no copier.yml in template {template_root}")


def load_questions(template_root: Path) -> list[Question]:
    """Parse the questions (keys not starting with `_`) of a template, in file order."""
    config = find_config(template_root)
    try:
        raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TemplateError(f"{config} is not valid YAML: {error}") from error
    return [_question(name, spec) for name, spec in raw.items() if not name.startswith("_")]


def _question(name: str, spec: Any) -> Question:
    if not isinstance(spec, dict):  # copier's short form `name: default`
        return Question(name=name, type=_infer_type(spec), help="", default=spec)
    choices = spec.get("choices") or {}
    if isinstance(choices, list):
        choices = {str(value): value for value in choices}
    when = spec.get("when", True)
    return Question(
        name=name,
        type=str(spec.get("type", _infer_type(spec.get("default")))),
        help=str(spec.get("help", "")).strip(),
        default=spec.get("default"),
        choices=dict(choices),
        computed=when is False,
        conditional=isinstance(when, str),
        validated=bool(spec.get("validator")),
    )


def _infer_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float"}.get(type(value), "str")


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """Turn `key=value` strings from the command line into a dict."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidAnswerError(f"'{pair}' is not of the form key=value")
        data[key.strip()] = value
    return data


def load_data_file(path: Path) -> dict[str, Any]:
    """Answers from a YAML (or JSON) file: a mapping of question name to value."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidAnswerError(f"cannot read data file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise InvalidAnswerError(f"data file {path} is not valid YAML") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidAnswerError(f"data file {path} must hold a mapping of question: answer")
    return {str(key): value for key, value in data.items()}


def check_answers(answers: Mapping[str, Any], questions: Iterable[Question]) -> None:
    """Reject unknown questions, answers to computed ones and values outside `choices`."""
    by_name = {question.name: question for question in questions}
    askable = sorted(name for name, question in by_name.items() if not question.computed)
    for key, value in answers.items():
        question = by_name.get(key)
        if question is None or question.computed:
            hint = difflib.get_close_matches(key, askable, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise InvalidAnswerError(
                f"unknown question '{key}'{suggestion}; known questions: {', '.join(askable)}"
            )
        allowed = [str(choice) for choice in question.choices.values()]
        if allowed and str(value) not in allowed:
            raise InvalidAnswerError(
                f"invalid value '{value}' for '{key}'; allowed values: {', '.join(allowed)}"
            )
