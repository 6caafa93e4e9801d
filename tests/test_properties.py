"""Property tests: whatever the answers and the destination, `new` and `update` either succeed
or end in one `error:` line with a non-zero exit, never a traceback, and a failure leaves the
file system as it was.

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
from hypothesis import HealthCheck, given, settings
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


@SETTINGS
@given(given_answers=answers, kind=st.sampled_from(DESTINATIONS), name=names)
def test_new_succeeds_or_fails_in_one_line(
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
            assert (dest.resolve() / ".copier-answers.yml").is_file()
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
def test_update_succeeds_or_fails_in_one_line(
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
        assert run(["git", "status", "--porcelain"], cwd=copy).stdout == ""
    finally:
        shutil.rmtree(root)
