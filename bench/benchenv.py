"""What every benchmark script shares: where the tools are, and a clean environment for them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent  # the venv running the benchmark: scaffold, copier, uv
REPO = Path(__file__).resolve().parents[1]
IDENTITY = {
    f"GIT_{role}_{field}": value
    for role in ("AUTHOR", "COMMITTER")
    for field, value in (("NAME", "bench"), ("EMAIL", "bench@localhost"))
}
# Set by an outer `make bench`; they would leak its variables into a generated project's make.
OUTER_MAKE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VIRTUAL_ENV")


def make_env(home: Path, bin_dir: Path = BIN) -> dict[str, str]:
    """A private SCAFFOLD_HOME, a git identity, and a venv (with uv) first on PATH.

    `bin_dir` is that venv's bin directory: by default the one running the benchmark.
    """
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE}
    path = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **IDENTITY, "SCAFFOLD_HOME": str(home), "PATH": path}


# ── commands, and the two sides of a comparison (this checkout, a baseline commit) ────────────


def run(cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> float:
    """Run a command with its output captured and return its wall time; stop on failure."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(c) for c in cmd], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        sys.exit(f"failed ({done.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return elapsed


def output(cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> str:
    """A command's standard output, stripped; stop on failure."""
    done = subprocess.run(
        [str(c) for c in cmd], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(map(str, cmd))}\n{done.stderr[-3000:]}")
    return done.stdout.strip()


@dataclass(frozen=True)
class Side:
    """One side of the comparison: its name, what it is, and the venv bin holding scaffold."""

    name: str
    label: str
    bin: Path
    new_args: tuple[str, ...] = ()  # more options for its `scaffold new` (e.g. --dataset)


def current_side() -> Side:
    """This checkout: the working tree as it is, installed (editable) in the venv running us."""
    if not (BIN / "scaffold").exists():
        script = Path(sys.argv[0]).name
        sys.exit(f"no scaffold next to {sys.executable}; run: .venv/bin/python bench/{script}")
    head = output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = output(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    return Side("current", f"{head}{' + uncommitted changes' if dirty else ''}", BIN)


def baseline_side(ref: str, root: Path) -> Side:
    """REF checked out as a git worktree under `root`, installed into a venv of its own.

    The venv gets uv with pip, then the worktree (editable, bytecode compiled) with uv, so the
    baseline's `scaffold` renders the baseline's template and the Makefile finds uv on PATH.
    """
    commit = output(["git", "-C", REPO, "rev-parse", "--verify", f"{ref}^{{commit}}"])
    source, venv = root / "src", root / "venv"
    run(["git", "-C", REPO, "worktree", "add", "--detach", source, commit])
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"])
    uv_install = ["pip", "install", "--quiet", "--compile-bytecode", "--python", python]
    run([venv / "bin" / "uv", *uv_install, "-e", source])
    label = commit[:7] if commit.startswith(ref) else f"{ref} = {commit[:7]}"
    return Side("baseline", label, venv / "bin")


def remove_worktree(path: Path) -> None:
    """Unregister and delete a worktree made by `baseline_side` (quietly if it never was)."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
        capture_output=True,
        check=False,
    )


# ── the container engine of `make container-engine` (.ci/container-engine) ──────────────────


def engine_settings() -> dict[str, str]:
    """engine.env as a shell reads it: CONTAINER_ENGINE, CONTAINER_BUILD_FLAGS and its env."""
    cache = os.environ.get("MLOPS_SCAFFOLD_CONTAINERS") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "mlops-scaffold"
        / "containers"
    )
    path = Path(cache) / "engine.env"
    if not path.is_file():
        sys.exit(f"no {path}: run `make container-engine` first")
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = "".join(shlex.split(value))
    return pairs


# ── a generated project, and the peak memory of a process tree (the data benches) ────────────


def new_project(root: Path, env: dict[str, str], name: str = "proj") -> Path:
    """A project generated from this checkout's template (uncommitted changes included),
    its DVC remote under `root`, installed with `make install`."""
    project = root / name
    remote = f"dvc_remote_url={root / 'remote'}"
    template = ["--template", REPO, "--vcs-ref", "HEAD"]
    run([BIN / "scaffold", "new", "-q", project, "--defaults", *template, "-d", remote], env)
    run(["make", "-C", project, "install"], env)
    return project


def large_table(project: Path, out: Path, *options: str) -> None:
    """bench/large_table run with the project's python (it needs numpy and pyarrow)."""
    run([project / ".venv" / "bin" / "python", REPO / "bench" / "large_table", out, *options])
    print(f"  table: {out.name} {' '.join(options)}, {out.stat().st_size / 1e6:.0f} MB")


def swap_in(project: Path, env: dict[str, str], *options: str) -> Path:
    """A bench/large_table (with `options`) in place of the heart data, by hand as the README
    says: the file in data/raw/, params.yaml's `prepare.raw_data`, `make contract ... FORCE=1`
    (target `label`, id `id`) and `make data` (DVC tracks the file). Returns the table."""
    table = project / "data" / "raw" / "large.csv"
    large_table(project, table, *options)
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace("data/raw/heart.csv", "data/raw/large.csv", 1), "utf-8")
    contract = ["DATA=data/raw/large.csv", "TARGET=label", "ID=id", "FORCE=1"]
    print(f"  make contract: {run(['make', '-C', project, 'contract', *contract], env):.1f} s")
    print(f"  make data (dvc add): {run(['make', '-C', project, 'data'], env):.1f} s")
    return table


@dataclass
class Usage:
    """What one group of processes used: wall seconds seen, peak summed RSS in bytes."""

    first: float = 0.0
    last: float = 0.0
    peak: int = 0

    @property
    def wall(self) -> float:
        return self.last - self.first


PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every process: pid -> (parent pid, resident bytes, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            rss = int((entry / "statm").read_text().split()[1]) * PAGE
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        found[int(entry.name)] = (parent, rss, cmdline)
    return found


def watch(
    cmd: Sequence[str | Path],
    cwd: Path,
    env: dict[str, str],
    group: Callable[[str], str | None] = lambda _cmdline: None,
    interval: float = 0.1,
) -> tuple[float, dict[str, Usage]]:
    """Run `cmd`, sampling /proc every `interval`: its wall time and, per group, the peak
    summed RSS of the process tree (`total`: everything under `cmd`). `group(cmdline)` names
    the group a process starts (e.g. a pipeline stage); its descendants count in it too.
    Stops on failure, showing the output's tail."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(c) for c in cmd], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        usage: dict[str, Usage] = {}
        while child.poll() is None:
            now = time.perf_counter() - start
            for name, rss in _tree_rss(child.pid, group).items():
                seen = usage.setdefault(name, Usage(first=now))
                seen.last, seen.peak = now, max(seen.peak, rss)
            time.sleep(interval)
        wall = time.perf_counter() - start
        if child.returncode:
            log.seek(0)
            tail = "\n".join(log.read().decode(errors="replace").splitlines()[-40:])
            sys.exit(f"failed ({child.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return wall, usage


def _tree_rss(root: int, group: Callable[[str], str | None]) -> dict[str, int]:
    """Summed RSS of `root`'s tree (`total`) and of each named group's subtree."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    sums: dict[str, int] = {}
    stack = [(root, "total")] if root in table else []
    while stack:
        pid, inherited = stack.pop()
        _, rss, cmdline = table[pid]
        name = group(cmdline) or inherited
        sums["total"] = sums.get("total", 0) + rss
        if name != "total":
            sums[name] = sums.get(name, 0) + rss
        stack.extend((kid, name) for kid in children.get(pid, ()))
    return sums
