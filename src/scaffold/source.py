"""Where the template comes from, and how projects stay updatable after `pip install`.

A wheel holds the template files but no git history, and `copier update` needs a git
repository with tags. So scaffold keeps a local template repository, the *mirror*
(`~/.local/share/mlops-scaffold/template`, or `$SCAFFOLD_HOME/template`): each installed
version of scaffold commits its bundled template there and tags it `v<version>`. Projects
record the mirror as `_src_path` (written with `~` so the path holds on any machine), so
both `scaffold update` and plain `copier update` find every version that was installed,
offline.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path

from filelock import FileLock
from platformdirs import user_data_path

from scaffold import _git
from scaffold.errors import TemplateError

LOG = logging.getLogger(__name__)
HOME_ENV = "SCAFFOLD_HOME"
_TEMPLATE_PATHS = ("copier.yml", "includes", "template")
_PACKAGE_DIR = Path(__file__).resolve().parent
_URL_PREFIXES = ("git@", "git+", "gh:", "gl:")


@dataclass(frozen=True)
class TemplateRef:
    """A template copier can render: its source (path or URL) and the git ref to use."""

    src: str
    vcs_ref: str | None
    root: Path | None
    """A local directory holding the template's copier.yml, when there is one."""


def bundled_root() -> Path:
    """The directory holding copier.yml and template/ for this installation.

    A wheel carries them as package data in `scaffold/_template`; an editable install
    from a source checkout uses the checkout itself.
    """
    packaged = _PACKAGE_DIR / "_template"
    if (packaged / "copier.yml").is_file():
        return packaged
    checkout = _PACKAGE_DIR.parents[1]
    if (checkout / "copier.yml").is_file() and (checkout / "template").is_dir():
        return checkout
    raise TemplateError("the bundled template is missing; reinstall mlops-scaffold")


def mirror_path() -> Path:
    """Where the local template repository lives."""
    home = os.environ.get(HOME_ENV)
    base = Path(home).expanduser() if home else user_data_path("mlops-scaffold")
    return base / "template"


def portable(path: Path) -> str:
    """`path` written relative to `~` when it lies in the home directory."""
    home = Path.home().resolve()
    resolved = path.resolve()
    if resolved.is_relative_to(home):
        return "~/" + resolved.relative_to(home).as_posix()
    return resolved.as_posix()


def is_mirror(src: str) -> bool:
    """Tell whether a recorded `_src_path` names this machine's mirror (existing or not)."""
    candidate = Path(src).expanduser()
    if candidate.exists() and candidate.resolve() == mirror_path().resolve():
        return True
    return src == portable(mirror_path())


def is_url(src: str) -> bool:
    """Whether a template source or fleet location is a git URL rather than a local path."""
    return "://" in src or src.startswith(_URL_PREFIXES)


def installed_version() -> str:
    """The installed version of mlops-scaffold."""
    try:
        return dist_version("mlops-scaffold")
    except PackageNotFoundError:
        return "0.0.0"


def sync_mirror(version: str | None = None, root: Path | None = None) -> TemplateRef:
    """Make sure the mirror holds the template at `root`, tagged for `version` (by default
    the bundled template of the installed version).

    Idempotent and safe to run concurrently (a file lock guards the mirror). If the tag
    exists with other content (a development build reusing its version), the content
    gets its own tag with the tree hash as a PEP 440 local label.
    """
    root = root or bundled_root()
    version = version or installed_version()
    mirror = mirror_path()
    try:
        mirror.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TemplateError(
            f"cannot create the template mirror in {mirror.parent}:"
            f" {error.strerror or type(error).__name__}; set {HOME_ENV} to a writable directory"
        ) from error
    with FileLock(str(mirror) + ".lock", timeout=120):
        if (mirror / ".git").exists() and (problem := _damage(mirror)):
            aside = mirror.with_name(f"{mirror.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(mirror, aside)
            LOG.warning(
                "the template mirror %s was damaged (%s); rebuilt it from the installed"
                " template, the damaged copy is kept at %s",
                mirror,
                problem,
                aside,
            )
        if not (mirror / ".git").is_dir():
            mirror.mkdir(exist_ok=True)
            _git.git("init", "--quiet", "--initial-branch=main", cwd=mirror)
        tree = _tree_of(root, mirror)
        tag = _tag_for(version, tree, mirror)
        if not _git.git("tag", "--list", tag, cwd=mirror):
            _commit_and_tag(mirror, tree, tag, version)
    return TemplateRef(src=portable(mirror), vcs_ref=tag, root=root)


def _damage(mirror: Path) -> str | None:
    """Why git cannot use the mirror's repository (e.g. a lost .git/HEAD), or None."""
    found = _git.git(
        "rev-parse", "--git-dir", cwd=mirror, env={"GIT_DIR": str(mirror / ".git")}, check=False
    )
    return None if found else "git does not recognise its .git directory"


def mirror_tags() -> list[str]:
    """Tags in the mirror, in the order they were created."""
    mirror = mirror_path()
    if not (mirror / ".git").is_dir():
        return []
    listing = _git.git("tag", "--list", "--sort=creatordate", cwd=mirror)
    return listing.splitlines()


def _tree_of(root: Path, mirror: Path) -> str:
    """Write the template files under `root` as a tree object in the mirror."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "GIT_DIR": str(mirror / ".git"),
            "GIT_WORK_TREE": str(root),
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
        }
        present = [name for name in _TEMPLATE_PATHS if (root / name).exists()]
        _git.git("add", "--all", "--", *present, cwd=root, env=env)
        return _git.git("write-tree", cwd=root, env=env)


def _tag_for(version: str, tree: str, mirror: Path) -> str:
    tag = f"v{version}"
    existing = _git.git(
        "rev-parse", "--verify", "--quiet", f"{tag}^{{tree}}", cwd=mirror, check=False
    )
    if not existing or existing == tree:
        return tag
    separator = "." if "+" in version else "+"
    return f"{tag}{separator}t{tree[:12]}"


def _commit_and_tag(mirror: Path, tree: str, tag: str, version: str) -> None:
    parent = _git.git("rev-parse", "--verify", "--quiet", "HEAD", cwd=mirror, check=False)
    identity = ("-c", "user.name=mlops-scaffold", "-c", "user.email=scaffold@localhost")
    parents = ("-p", parent) if parent else ()
    message = f"mlops-scaffold {version}"
    commit = _git.git(*identity, "commit-tree", tree, *parents, "-m", message, cwd=mirror)
    _git.git("update-ref", "refs/heads/main", commit, cwd=mirror)
    _git.git(*identity, "tag", "--annotate", "--message", message, tag, commit, cwd=mirror)
    _git.git("reset", "--hard", "--quiet", cwd=mirror)


def local_template(src: str, vcs_ref: str | None) -> TemplateRef:
    """A user-given template: a local directory (git or not) or a URL copier understands."""
    path = Path(src).expanduser()
    if path.exists():
        if not path.is_dir():
            raise TemplateError(f"template {src} is not a directory")
        return TemplateRef(src=str(path.resolve()), vcs_ref=vcs_ref, root=path.resolve())
    if is_url(src):
        return TemplateRef(src=src, vcs_ref=vcs_ref, root=None)
    raise TemplateError(f"template {src} not found")
