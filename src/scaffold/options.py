"""The template's questions, read from its `copier.yml`, and checks on answers given up front.

copier.yml is the single source of truth: this module never restates a question. Copier
itself runs each question's `validator` while rendering; here we catch what copier lets
through silently (unknown keys) and give choice errors that list the allowed values.
`scaffold options` and the options reference (docs/gen_options.py) both read this model.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scaffold.errors import InvalidAnswerError, TemplateError

if TYPE_CHECKING:
    from jinja2 import Environment

CONFIG_NAMES = ("copier.yml", "copier.yaml")
# The extension copier always loads (its filters: regex_replace, strftime, to_nice_yaml…).
_COPIER_EXTENSIONS = ("jinja2_ansible_filters.AnsibleCoreFiltersExtension",)


@dataclass(frozen=True)
class Question:
    """One question of the template, as `scaffold options` shows it."""

    name: str
    type: str
    help: str
    default: Any = None
    """As copier.yml writes it: a value, or a Jinja template over earlier answers."""
    choices: dict[str, Any] = field(default_factory=dict)
    """Prompt label → value."""
    computed: bool = False
    """`when: false`: derived by the template, never asked, not stored in the answers file."""
    condition: str = ""
    """The `when` Jinja expression, if the question is asked only when earlier answers say so."""
    validated: bool = False
    default_value: Any = None
    """The default as copier computes it when every earlier question takes its default."""
    default_from: tuple[str, ...] = ()
    """The earlier questions a templated default is computed from, in question order."""

    @property
    def conditional(self) -> bool:
        """Asked only if earlier answers call for it."""
        return bool(self.condition)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (for `scaffold options --json`)."""
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "default": self.default,
            "default_value": self.default_value,
            "default_from": list(self.default_from),
            "choices": list(self.choices.values()),
            "computed": self.computed,
            "conditional": self.conditional,
        }


def show_value(value: Any) -> str:
    """A value as a user types it: strings bare, everything else as JSON (`true`, `3`)."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def find_config(template_root: Path) -> Path:
    """The copier config file at the template's root."""
    for name in CONFIG_NAMES:
        if (template_root / name).is_file():
            return template_root / name
    raise TemplateError(f"no copier.yml in template {template_root}")


def load_questions(template_root: Path) -> list[Question]:
    """Parse the questions (keys not starting with `_`) of a template, in file order.

    Each question's `default_value` is rendered as copier would with every question
    answered by its default (`scaffold new --defaults`).
    """
    config = find_config(template_root)
    try:
        raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TemplateError(f"{config} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise TemplateError(f"{config} must hold a mapping of settings and questions")
    questions = [_question(name, spec) for name, spec in raw.items() if not name.startswith("_")]
    return _with_default_values(questions, raw.get("_envops"), raw.get("_jinja_extensions"))


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
        condition=when if isinstance(when, str) else "",
        validated=bool(spec.get("validator")),
    )


def _with_default_values(questions: list[Question], envops: Any, extensions: Any) -> list[Question]:
    """Render the defaults in question order, each seeing the earlier ones, as copier does."""
    from jinja2 import TemplateError as JinjaError
    from jinja2 import meta
    from jinja2.sandbox import SandboxedEnvironment

    settings = {key: value for key, value in (envops or {}).items() if key != "undefined"}
    env = SandboxedEnvironment(extensions=[*_COPIER_EXTENSIONS, *(extensions or [])], **settings)
    starts = (env.variable_start_string, env.block_start_string)
    names = [question.name for question in questions]
    context: dict[str, Any] = {}
    rendered = []
    for question in questions:
        used: set[str] = set()
        try:
            for template in _templates(question.default, *starts):
                used |= meta.find_undeclared_variables(env.parse(template))
            value = _cast(_render(env, question.default, context), question.type)
        except (JinjaError, ValueError, yaml.YAMLError):
            value = None  # e.g. a default that needs copier's own context (_copier_conf)
        context[question.name] = value
        derived = tuple(name for name in names if name in used)
        rendered.append(replace(question, default_value=value, default_from=derived))
    return rendered


def _templates(value: Any, *starts: str) -> list[str]:
    """The strings in a default (a value or a list) that hold Jinja."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str) and any(s in item for s in starts)]


def _render(env: Environment, value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_render(env, item, context) for item in value]
    if isinstance(value, str):
        return env.from_string(value).render(context)
    return value


def _cast(value: Any, type_name: str) -> Any:
    """Copier's conversion of a rendered default to the question's type."""
    if type_name == "bool":
        return _to_bool(value)
    if type_name == "int":
        return int(value)
    if type_name == "float":
        return float(value)
    if type_name in {"yaml", "json"} and isinstance(value, str):
        return yaml.safe_load(value) if type_name == "yaml" else json.loads(value)
    if type_name == "str" and value is not None:
        return str(value)
    return value


_YES = frozenset({"true", "yes", "y", "on", "1"})
_NO = frozenset({"false", "no", "n", "off", "0"})
BOOL_WORDS = "true/false, yes/no, y/n, on/off or 1/0"


def parse_bool(value: Any) -> bool | None:
    """scaffold's one reading of a yes/no answer: a bool, 1/0, or a yes/no word in any case.

    Anything else (other numbers, other words) is None: refused, never guessed. Plain
    `copier copy` keeps copier's own, looser casting.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def _to_bool(value: Any) -> bool:
    """A rendered yes/no default (copier.yml's own Jinja), read by the one rule."""
    parsed = parse_bool(value)
    if parsed is None:
        raise ValueError(f"{value!r} is not a yes/no value")
    return parsed


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


def _printable(value: Any) -> str:
    """`value` for a one-line message: characters that would break or hide the line escaped."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in str(value)
    )


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
                f"unknown question '{_printable(key)}'{suggestion}; known questions: "
                f"{', '.join(askable)}"
            )
        if question.type == "bool" and parse_bool(value) is None:
            raise InvalidAnswerError(
                f"invalid value '{_printable(value)}' for '{key}', a yes/no question; "
                f"use {BOOL_WORDS}"
            )
        allowed = [str(choice) for choice in question.choices.values()]
        if allowed and str(value) not in allowed:
            raise InvalidAnswerError(
                f"invalid value '{_printable(value)}' for '{key}'; allowed values: "
                f"{', '.join(allowed)}"
            )
