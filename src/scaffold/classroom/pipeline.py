"""Did the pipeline run on what is committed? `dvc.lock` compared with the commit itself.

`dvc status` answers this only where the pipeline's outputs are present, i.e. in the
student's own work tree: a clone of what they pushed has no `data/processed/` (DVC keeps
outputs out of git), so there every stage looks changed. Instead this reads the commit:
each stage of `dvc.yaml` must be in `dvc.lock` with the same command; each dependency's
hash there must match the committed file (DVC's MD5 of its bytes), the `.dvc` file that
tracks it, or the output of the earlier stage that produces it, as locked (a directory: DVC's
hash of its listing of files and their MD5s); and each parameter's locked value must equal
`params.yaml`'s. No data, no DVC run, a few git reads.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CURRENT = "current"
NOT_RUN = "not run"
NO_PIPELINE = "no pipeline"
# DVC's templating: `${prepare.raw_data}` in dvc.yaml is a value of params.yaml.
VARIABLE = re.compile(r"\$\{\s*([\w.-]+)\s*\}")


def pipeline_state(repo: Path, ref: str = "HEAD") -> str:
    """`current`, `not run` (no dvc.lock), `no pipeline`, or `stale: STAGE (why)`."""
    spec = _yaml(_show(repo, ref, "dvc.yaml"))
    if not spec:
        return NO_PIPELINE
    lock_text = _show(repo, ref, "dvc.lock")
    if lock_text is None:
        return NOT_RUN
    locked = (_yaml(lock_text) or {}).get("stages") or {}
    produced = {
        str(out["path"]): out
        for stage in locked.values()
        for out in stage.get("outs") or []
        if isinstance(out, dict) and "path" in out
    }
    params_cache: dict[str, Any] = {}
    for name, stage in (spec.get("stages") or {}).items():
        why = _stale(repo, ref, stage, locked.get(name), produced, params_cache)
        if why:
            return f"stale: {name} ({why})"
    return CURRENT


def _stale(
    repo: Path,
    ref: str,
    stage: Mapping[str, Any],
    locked: Mapping[str, Any] | None,
    produced: Mapping[str, Mapping[str, Any]],
    params_cache: dict[str, Any],
) -> str | None:
    """Why one stage's lock entry is out of date with the commit, or None."""
    if not locked:
        return "never ran"
    if str(stage.get("cmd")) != str(locked.get("cmd")):
        return "command changed"
    locked_deps = {str(dep.get("path")): dep for dep in locked.get("deps") or []}
    if "params.yaml" not in params_cache:
        params_cache["params.yaml"] = _yaml(_show(repo, ref, "params.yaml")) or {}
    for written in stage.get("deps") or []:
        path = _resolved(str(written), params_cache["params.yaml"])
        dep = locked_deps.get(str(path))
        if dep is None:
            return f"{path} is a new dependency"
        if _current_md5(repo, ref, str(path), dep, produced) != dep.get("md5"):
            return f"{path} changed"
    for file, values in (locked.get("params") or {}).items():
        if file not in params_cache:
            params_cache[file] = _yaml(_show(repo, ref, str(file))) or {}
        for key, value in values.items():
            if _lookup(params_cache[file], str(key)) != value:
                return f"parameter {key} changed"
    return None


def _current_md5(
    repo: Path,
    ref: str,
    path: str,
    dep: Mapping[str, Any],
    produced: Mapping[str, Mapping[str, Any]],
) -> str | None:
    if path in produced:  # an earlier stage's output, not in git: as that stage locked it
        return str(produced[path].get("md5"))
    tracked = _yaml(_show(repo, ref, f"{path}.dvc"))
    if tracked:  # data tracked by `dvc add`
        outs = tracked.get("outs") or [{}]
        return str(outs[0].get("md5"))
    if str(dep.get("md5", "")).endswith(".dir"):
        return _directory_md5(repo, ref, path)
    data = _show_bytes(repo, ref, path)
    if data is None:
        return None
    if dep.get("hash") != "md5" and b"\0" not in data[:8000]:
        data = data.replace(b"\r\n", b"\n")  # DVC 2's md5 normalised text line ends
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _directory_md5(repo: Path, ref: str, path: str) -> str | None:
    """DVC's hash of a directory as committed: the MD5 of the JSON list of its files (their
    MD5 and path inside it, sorted by that path), with `.dir` appended. Files that
    .dvcignore leaves out (``__pycache__``) are not committed either."""
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--name-only", ref, "--", f"{path.rstrip('/')}/"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    names = [name for name in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if name]
    if listed.returncode != 0 or not names:
        return None
    entries = []
    for name in names:
        relpath = name[len(path.rstrip("/")) + 1 :]
        digest = hashlib.md5(_show_bytes(repo, ref, name) or b"", usedforsecurity=False)
        entries.append({"md5": digest.hexdigest(), "relpath": relpath})
    listing = json.dumps(sorted(entries, key=lambda entry: entry["relpath"]), sort_keys=True)
    return hashlib.md5(listing.encode(), usedforsecurity=False).hexdigest() + ".dir"


def _resolved(path: str, params: Mapping[str, Any]) -> str:
    """``path`` with its ``${key}`` variables replaced by params.yaml's values, as DVC does."""
    return VARIABLE.sub(lambda match: str(_lookup(params, match.group(1))), path)


def _lookup(params: Any, dotted: str) -> Any:
    value = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _show(repo: Path, ref: str, path: str) -> str | None:
    data = _show_bytes(repo, ref, path)
    return None if data is None else data.decode("utf-8", errors="replace")


def _show_bytes(repo: Path, ref: str, path: str) -> bytes | None:
    done = subprocess.run(
        ["git", "cat-file", "blob", f"{ref}:{path}"], cwd=repo, capture_output=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def _yaml(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return loaded if isinstance(loaded, dict) else None
