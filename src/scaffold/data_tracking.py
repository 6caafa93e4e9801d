"""Put a new project's raw data under DVC, as `dvc add` does: hashed, cached, ignored by git.

The template renders the files `dvc init` writes (`.dvc/config` with the chosen remote,
`.dvc/.gitignore`, `.dvcignore`), so plain `copier copy` yields a DVC repository too. What
only DVC can do is tracking the starter data, which `scaffold new` does here with the real
`dvc add` (the generated Makefile's `make data` does the same for copier users).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scaffold.errors import ScaffoldError

RAW_DATA = Path("data") / "raw"
_NOT_DATA = {".gitignore", "README.md"}


def untracked_raw_files(project: Path) -> list[str]:
    """Raw data files of a DVC project that no `.dvc` file tracks yet (relative paths)."""
    raw = project / RAW_DATA
    if not (project / ".dvc").is_dir() or not raw.is_dir():
        return []
    return sorted(
        path.relative_to(project).as_posix()
        for path in raw.iterdir()
        if path.is_file()
        and path.suffix != ".dvc"
        and path.name not in _NOT_DATA
        and not path.with_name(path.name + ".dvc").exists()
    )


def track(project: Path, files: list[str]) -> None:
    """`dvc add` the files (inside a git work tree, which DVC requires)."""
    if not files:
        return
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dvc", "add", "--quiet", *files],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:  # pragma: no cover - the interpreter itself is missing
        raise ScaffoldError(f"could not run dvc: {error}") from error
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {done.returncode}"
        raise ScaffoldError(f"dvc add failed: {reason.removeprefix('ERROR: ')}")
