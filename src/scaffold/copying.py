"""Every call into copier: render, update, the answers file, a template's questions.

This is the only module that imports copier (inside the functions, so `scaffold --help`
stays fast). Copier's failures leave here as scaffold's errors, each one line.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scaffold import _git, options
from scaffold.errors import (
    DestinationError,
    InvalidAnswerError,
    RepositoryError,
    TemplateError,
)

if TYPE_CHECKING:
    from copier._main import Worker
    from jinja2 import Environment

ANSWERS_FILE = ".copier-answers.yml"


def render(
    src: str,
    vcs_ref: str | None,
    dest: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any] | None = None,
) -> None:
    """`copier copy` of the template `src` at `vcs_ref` into `dest` (no git commit, no lock);
    `user_defaults` replace the questions' own defaults (still asked without `defaults`)."""
    _file_modes_ignored.cache_clear()
    with (
        _copier_errors(dest),
        _worker()(
            src_path=src,  # as given: the answers file records it (`~/…` for the mirror)
            dst_path=dest,
            data=dict(data),
            user_defaults=dict(user_defaults or {}),
            vcs_ref=vcs_ref,
            defaults=defaults,
            quiet=True,
            overwrite=True,
            unsafe=False,
        ) as worker,
    ):
        worker.run_copy()


def update(path: Path, data: Mapping[str, Any], vcs_ref: str | None) -> None:
    """`copier update` of the project at `path` to `vcs_ref`, with `data` re-answered;
    conflicts are left inline in the files."""
    _file_modes_ignored.cache_clear()
    with (
        _copier_errors(path),
        _worker()(
            dst_path=path,
            data=dict(data),
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            quiet=True,
            conflict="inline",
            unsafe=False,
            skip_answered=True,
        ) as worker,
    ):
        worker.run_update()


def read_answers(path: Path, ref: str | None = None) -> dict[str, Any]:
    """The project's answers file, from its work tree or from its commit `ref`.

    A missing or broken one is a `RepositoryError`.
    """
    file = path / ANSWERS_FILE
    if ref is not None:
        text = _git.git("show", f"{ref}:{ANSWERS_FILE}", cwd=path, check=False)
        if not text:
            raise RepositoryError(f"{path} has no {ANSWERS_FILE} at {ref}")
    elif not file.is_file():
        raise RepositoryError(f"{path} is not a generated project: no {ANSWERS_FILE}")
    else:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RepositoryError(f"cannot read {file}: {error}") from error
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RepositoryError(
            f"{file} is not valid YAML{where}; fix it, or restore it with"
            f" `git checkout -- {ANSWERS_FILE}`"
        ) from error
    return loaded if isinstance(loaded, dict) else {}


def user_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without copier's own `_` keys: what a render is given as data."""
    return {key: value for key, value in answers.items() if not str(key).startswith("_")}


def questions_at(src: str, version: str) -> list[options.Question]:
    """The questions of a local git template's copier.yml at `version`."""
    repo = Path(src).expanduser()
    if not (repo / ".git").exists():
        raise TemplateError(f"template {src} is not a local git repository; cannot read {version}")
    if not _git.git(
        "rev-parse", "--verify", "--quiet", f"{version}^{{commit}}", cwd=repo, check=False
    ):
        raise TemplateError(f"template {src} does not hold {version}")
    for config in options.CONFIG_NAMES:
        text = _git.git("show", f"{version}:{config}", cwd=repo, check=False)
        if text:
            with tempfile.TemporaryDirectory() as scratch:
                (Path(scratch) / config).write_text(text + "\n", encoding="utf-8")
                return options.load_questions(Path(scratch))
    raise TemplateError(f"template {src} has no copier.yml at {version}")


@functools.cache
def _worker() -> type[Worker]:
    """copier's `Worker` (what `copier.run_copy` and `run_update` use), minus repeated work.

    - For every file it renders, copier runs `git config core.fileMode` in the destination to
      learn whether it must also set the executable bit in git's index (only when that setting
      is false). One answer per run does: about a quarter of a render's time on Linux.
    - copier compiles every path part and templated string with jinja's `from_string` each
      time it meets it: a render compiles about 2,500 sources, 900 of them different (the
      answers file's name alone some 670 times). A string is compiled once per process and
      set of jinja settings (`_compiling_once`): compiling is pure, given those settings.
    """
    from copier._main import Worker

    class _Worker(Worker):
        def _sync_git_index_executable_bit(self, dst_relpath: Path, src_mode: int) -> None:
            if _file_modes_ignored(self.subproject.local_abspath):
                super()._sync_git_index_executable_bit(dst_relpath, src_mode)

        @functools.cached_property
        def jinja_env(self) -> Any:  # copier's sandboxed jinja2 Environment
            env = super().jinja_env
            env.compile = _compiling_once(env)  # type: ignore[method-assign]
            return env

    return _Worker


# Compiled strings (path parts, answers' defaults…), by what compiling depends on: the
# environment's settings and the source. A process that renders many times (a feature switch,
# a fleet, the tests) compiles each once. Not the template's files: each render reads them
# from a clone of its own, and their compiled code names that file.
_compiled: dict[tuple[Any, ...], Any] = {}
_COMPILED_KEPT = 50_000


def _compiling_once(env: Environment) -> Callable[..., Any]:
    """`env.compile` that reuses a string's compilation made under the same settings.
    Extensions still see every source first: copier's `yield` tag resets its state in that
    hook (`preprocess`) for each path."""
    settings = _compile_settings(env)
    compile_source: Callable[..., Any] = type(env).compile

    def compile_once(source: Any, name: str | None = None, filename: str | None = None,
                     raw: bool = False, defer_init: bool = False) -> Any:  # fmt: skip
        if filename is not None or not isinstance(source, str):
            return compile_source(env, source, name, filename, raw, defer_init)
        env.preprocess(source, name, filename)
        key = (settings, source, name, raw, defer_init)
        code = _compiled.get(key)
        if code is None:  # kept from a local: another thread's render may clear the dict
            if len(_compiled) >= _COMPILED_KEPT:
                _compiled.clear()
            code = _compiled[key] = compile_source(env, source, name, filename, raw, defer_init)
        return code

    return compile_once


def _compile_settings(env: Environment) -> tuple[Any, ...]:
    """What jinja's compiler reads from `env`: its lexer (jinja shares one object between
    environments of the same syntax), extensions, code generation switches, and the names of
    its filters and tests (an unknown one compiles to an error)."""
    return (
        type(env),
        env.lexer,
        tuple(type(extension) for extension in env.extensions.values()),
        env.optimized,
        env.autoescape,
        env.finalize,
        env.is_async,
        frozenset(env.filters),
        frozenset(env.tests),
    )


@functools.cache
def _file_modes_ignored(root: Path) -> bool:
    """git's `core.fileMode` is false at `root` (cached for one render or update)."""
    setting = ("config", "--type=bool", "--get", "core.fileMode")
    return _git.git("-C", str(root), *setting, check=False) == "false"


@contextmanager
def _copier_errors(writing: Path) -> Iterator[None]:
    """copier's failures as scaffold's, each one line: a refused answer, a broken template,
    a file that could not be written under `writing`, Ctrl-C at one of its prompts."""
    from copier.errors import CopierAnswersInterrupt, CopierError

    try:
        yield
    except CopierAnswersInterrupt:  # its message is the repr of (answers, question, template)
        raise KeyboardInterrupt from None
    except ValueError as error:  # copier's validator and choice failures
        raise InvalidAnswerError(_first_line(error)) from error
    except CopierError as error:
        raise TemplateError(_first_line(error)) from error
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise DestinationError(f"cannot write into {writing}: {reason}") from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
