"""The template of an earlier mlops-scaffold release, for a mirror that lacks it.

A project records the version that rendered it (`_commit: v0.1.0`), but a teammate's
machine or a fresh CI runner holds only its own version in the template mirror, and copier
cannot diff from a version it does not have. The template of that version is found in the
release's wheel on the package index uv is configured with (`UV_INDEX_URL`,
`UV_FIND_LINKS`, uv.toml), or in a wheel or checkout the user names, and committed to the
mirror under the project's tag (see `source.sync_mirror`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from scaffold import locking, source
from scaffold.errors import TemplateError

DISTRIBUTION = "mlops-scaffold"
_PACKAGED = "scaffold/_template/"
_TIMEOUT_S = 600


def add_to_mirror(
    tag: str, given: Path | None, scratch: Path, progress: Callable[[str], None]
) -> str:
    """Commit the template of release `tag` (`v<version>`) to the mirror; say from where.

    `given` is a wheel or checkout of that release; without it, the release's wheel is
    fetched from the package index. `scratch` is an empty directory for the unpacked files.
    """
    version = tag.removeprefix("v")
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise TemplateError(
            f"the template mirror lacks {tag}, which is not a release of {DISTRIBUTION}"
        ) from None
    origin = f"{DISTRIBUTION}=={version} on the package index"
    if given is not None:
        origin = str(given) if given.is_dir() else given.name
    progress(f"Adding {tag}, missing from the template mirror, from {origin}")
    if given is None:
        root = _from_index(version, scratch)
    elif given.is_dir():
        root = _from_checkout(given, tag)
    else:
        root = _from_wheel(given, wanted, tag, scratch)
    made = source.sync_mirror(version, root)
    if made.vcs_ref != tag:  # a tag of that name appeared meanwhile, with other content
        raise TemplateError(f"the template mirror holds another {tag}; it was left as it is")
    return origin


def _from_index(version: str, scratch: Path) -> Path:
    """The release's wheel, unpacked by uv into `scratch` (no dependencies, nothing built)."""
    uv = locking.uv_binary()
    if uv is None:
        raise TemplateError(
            f"the template mirror lacks v{version} and uv is not installed to fetch it;"
            " give a wheel or checkout of it to `scaffold update --from`"
        )
    target = scratch / "wheel"
    command = [uv, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
               "--python", sys.executable, "--target", str(target),
               f"{DISTRIBUTION}=={version}"]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TemplateError(f"uv could not fetch {DISTRIBUTION}=={version}: {error}") from error
    root = target / _PACKAGED
    if done.returncode != 0 or not (root / "copier.yml").is_file():
        reason = "it holds no template"
        if done.returncode:
            reason = locking.uv_failure(done.stderr) or f"uv exit code {done.returncode}"
        raise TemplateError(
            f"the template mirror lacks v{version}, and {DISTRIBUTION}=={version} was not found"
            f" on the package index ({reason}); give a wheel or checkout of it to"
            " `scaffold update --from`"
        )
    return root


def _from_wheel(wheel: Path, wanted: Version, tag: str, scratch: Path) -> Path:
    """The template files of a wheel of the release, unpacked into `scratch`."""
    try:
        name, found, _build, _tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename:
        raise TemplateError(f"--from {wheel}: not a wheel or checkout of {DISTRIBUTION}") from None
    if name != DISTRIBUTION or found != wanted:
        raise TemplateError(
            f"--from {wheel.name} is {name} {found}; the project was made with {tag}"
        )
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [item for item in archive.namelist() if item.startswith(_PACKAGED)]
            archive.extractall(scratch, members)
    except (OSError, zipfile.BadZipFile) as error:
        raise TemplateError(f"cannot read {wheel}: {error}") from error
    root = scratch / _PACKAGED
    if not (root / "copier.yml").is_file():
        raise TemplateError(f"{wheel.name} holds no template (no {_PACKAGED}copier.yml)")
    return root


def _from_checkout(checkout: Path, tag: str) -> Path:
    """A source checkout of the release: its copier.yml and template/, as they are."""
    if not (checkout / "copier.yml").is_file() or not (checkout / "template").is_dir():
        raise TemplateError(
            f"--from {checkout}: no copier.yml and template/ there; give a checkout of {tag}"
        )
    return checkout.resolve()
