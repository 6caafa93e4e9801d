"""Property tests: whatever the answers and the destination, `new` and `update` either refuse
them in one `error:` line with a non-zero exit (never a traceback, the file system as it was),
or succeed with an answers file that says what the user meant: each answer as given, a yes/no
answer read by scaffold's one rule (`options.parse_bool`), never guessed.

The commands run in-process through click's runner (the copier import is paid once), with
`--no-lock` (locking needs the package index and is tested elsewhere). Hypothesis generates
answers for the real questions and for unknown ones (any text, YAML's special characters,
long values, wrong types for booleans and choices) and destinations (missing parents, files,
symbolic links, names with spaces and non-ASCII letters).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scaffold import api, cli, options, source
from tests.support import run

pytestmark = pytest.mark.e2e  # minutes: each example renders a project, and updates render two

QUESTIONS = [q for q in options.load_questions(source.bundled_root()) if not q.computed]
NAMES = [q.name for q in QUESTIONS]
YAML_SPECIAL = [":", "- ", "# x", "{", "}", "[", "]", "&a", "*a", "!tag", "|", ">", "'", '"']
YAML_SPECIAL += ["%", "@", "`", "~", "null", "yes", "no", "on", "1e3", "0x10", "---", "\\"]
YAML_SPECIAL += ["{{ x }}", "{% if %}", "\t", "\n", "", " "]
WRONG_TYPES = ["maybe", "2", "3.9", "[1]", "{a: 1}", "True", "FALSE", "none", "-1", "docker"]

_characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
values = st.one_of(
    st.text(_characters, max_size=40),
    st.text(st.sampled_from("ab€ 日-_."), min_size=200, max_size=2000),
    st.sampled_from(YAML_SPECIAL + WRONG_TYPES),
    st.lists(st.sampled_from(YAML_SPECIAL) | st.text(_characters, max_size=5), max_size=4).map(
        "".join
    ),
)
answers = st.dictionaries(
    st.sampled_from([*NAMES, *NAMES, "colour", "_commit", "_src_path", "", "a=b"]),
    values,
    max_size=4,
)
names = st.text(st.sampled_from("abcXYZ019 -_.éßж日"), min_size=1, max_size=40).filter(
    lambda name: name.strip() not in {"", ".", ".."}
)
DESTINATIONS = [
    "new",
    "nested missing parents",
    "existing file",
    "link to a directory",
    "link to nothing",
    "empty directory",
    "non-empty directory",
    "non-empty directory, --force",
]
EXAMPLES = int(os.environ.get("SCAFFOLD_PROPERTY_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=os.environ.get("CI") == "true",  # CI reruns the same examples
)


def snapshot(root: Path) -> dict[str, str]:
    """Every path below `root`: a directory, a file's content hash, or a link's target.

    Git's index is left out: `git status` refreshes the file times it caches there.
    """
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            key = path.relative_to(root).as_posix()
            if key.endswith(".git/index"):
                continue
            if path.is_symlink():
                found[key] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "directory"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def pairs(given_answers: dict[str, str]) -> list[str]:
    return [arg for key, value in given_answers.items() for arg in ("-d", f"{key}={value}")]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def assert_outcome(result: Result, root: Path, before: dict[str, str]) -> None:
    """Success, or one error line, a non-zero exit and the file system as it was."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"a traceback: {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert snapshot(root) == before


BY_NAME = {q.name: q for q in QUESTIONS}


def assert_meant(project: Path, given_answers: dict[str, str]) -> None:
    """The answers file holds each answer to a real question as the user meant it."""
    recorded = api.read_answers(project)
    for key, value in given_answers.items():
        question = BY_NAME.get(key)
        if question is None:
            continue
        if question.type == "bool":
            meant = options.parse_bool(value)
            assert meant is not None, f"{key}={value!r} was taken as {recorded.get(key)!r}"
            assert recorded.get(key) is meant, (key, value, recorded.get(key))
        else:
            assert recorded.get(key) == value, (key, value, recorded.get(key))


def make_destination(root: Path, kind: str, name: str) -> tuple[Path, list[str]]:
    """A destination of the given kind below `root`, and the extra flags it needs."""
    dest = root / name
    if kind == "nested missing parents":
        dest = root / name / "deeper" / name
    elif kind == "existing file":
        dest.write_text("keep me")
    elif kind == "link to a directory":
        (root / "target").mkdir()
        dest.symlink_to(root / "target")
    elif kind == "link to nothing":
        dest.symlink_to(root / "nowhere")
    elif kind == "empty directory":
        dest.mkdir()
    elif kind.startswith("non-empty directory"):
        dest.mkdir()
        (dest / "notes.txt").write_text("keep me")
    return dest, (["--force"] if kind.endswith("--force") else [])


@pytest.fixture(name="scratch")
def fixture_scratch() -> Iterator[Path]:
    """A directory of the test's own, emptied between hypothesis examples by the test."""
    with tempfile.TemporaryDirectory(prefix="scaffold-property-") as folder:
        yield Path(folder)


LONG = "a" * 256  # a name of 256 bytes: one more than most file systems hold


@SETTINGS
@given(given_answers=answers, kind=st.sampled_from(DESTINATIONS), name=names)
@example(given_answers={"serving": "maybe"}, kind="new", name="p")  # a word that is no yes/no
@example(given_answers={"helm": "2"}, kind="new", name="p")  # a number that is no 1/0
@example(given_answers={"ci": "OFF", "docker": "Yes"}, kind="new", name="p")
@example(given_answers={"package_name": LONG}, kind="new", name="p")
@example(given_answers={"project_slug": LONG}, kind="new", name="p")
@example(given_answers={"project_slug": "a" * 200}, kind="new", name="p")  # the longest allowed
@example(given_answers={}, kind="new", name=LONG)
@example(given_answers={}, kind="new", name="é" * 118)  # 236 bytes: fits with the staging name
@example(given_answers={}, kind="new", name="é" * 119)  # 238 bytes: does not
@example(given_answers={}, kind="nested missing parents", name="ж" * 128)
def test_new_is_refused_or_does_what_was_meant(
    scratch: Path, given_answers: dict[str, str], kind: str, name: str
) -> None:
    root = Path(tempfile.mkdtemp(dir=scratch))
    try:
        dest, flags = make_destination(root, kind, name)
        before = snapshot(root)
        result = invoke(
            "new", "-q", str(dest), "--defaults", "--no-lock", *flags, *pairs(given_answers)
        )
        assert_outcome(result, root, before)
        if result.exit_code == 0:
            assert_meant(dest.resolve(), given_answers)
            assert not list(dest.resolve().parent.glob(".*.scaffold"))
            if kind.startswith("non-empty directory"):
                assert (dest / "notes.txt").read_text() == "keep me"
    finally:
        shutil.rmtree(root)


@pytest.fixture(name="project", scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated project (committed), copied afresh for every example."""
    return api.create(tmp_path_factory.mktemp("base") / "proj", defaults=True, lock=False).path


@settings(SETTINGS, max_examples=max(1, EXAMPLES // 3))  # an update renders twice
@given(given_answers=answers)
@example(given_answers={"ci": "maybe"})
@example(given_answers={"serving": "0"})
@example(given_answers={"package_name": LONG})
def test_update_is_refused_or_does_what_was_meant(
    scratch: Path, project: Path, given_answers: dict[str, str]
) -> None:
    root = Path(tempfile.mkdtemp(dir=scratch))
    try:
        copy = root / "proj"
        shutil.copytree(project, copy, symlinks=True)
        before = snapshot(root)
        result = invoke("update", "-q", str(copy), *pairs(given_answers))
        if result.exit_code == 3:  # conflicts: reported file by file, the update is kept
            assert result.stderr.startswith("error: update left "), result.stderr
            return
        assert_outcome(result, root, before)
        if result.exit_code == 0:  # the changes it made are left for review, uncommitted
            assert_meant(copy, given_answers)
        else:
            assert run(["git", "status", "--porcelain"], cwd=copy).stdout == ""
    finally:
        shutil.rmtree(root)
