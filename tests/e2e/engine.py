"""The container engine set up by `make container-engine` (.ci/container-engine), for the tests.

That script writes engine.env: the engine's path, its settings (CONTAINERS_CONF and
CONTAINERS_STORAGE_CONF for Podman) and the build flags this machine needs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT, run

CACHE = Path(
    os.environ.get("MLOPS_SCAFFOLD_CONTAINERS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "mlops-scaffold"
    / "containers"
)
SETUP = REPO_ROOT / ".ci" / "container-engine"
# The host's CA bundle, for networks whose TLS is intercepted; the Dockerfile's optional secret.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY='value' lines as a shell would read them; comments and blank lines skipped."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = "".join(shlex.split(value))
    return pairs


@dataclass(frozen=True)
class Engine:
    """docker or podman, with the environment and build flags it needs here."""

    command: str
    env: dict[str, str]
    build_flags: tuple[str, ...]

    @property
    def is_podman(self) -> bool:
        return Path(self.command).name == "podman"

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run `engine ARGS…`; on failure (with `check`) its output is in the assertion."""
        return run([self.command, *args], cwd=REPO_ROOT, env=self.env, check=check, timeout=timeout)

    def make_flags(self) -> str:
        """BUILD_FLAGS for a generated project's `make docker-build`, as one shell string."""
        flags: Sequence[str] = self.build_flags
        if HOST_CA.is_file():
            flags = [*flags, "--secret", f"id=ca,src={HOST_CA}"]
        if self.is_podman:  # no intermediate images left behind in the store
            flags = [*flags, "--layers=false"]
        return shlex.join(flags)


def find_engine() -> tuple[Engine | None, str]:
    """The engine engine.env names, if it answers; else None and why not."""
    settings = CACHE / "engine.env"
    if not settings.is_file():
        return None, f"no {settings}: run `make container-engine` (.ci/container-engine)"
    values = read_env_file(settings)
    engine = Engine(
        command=values.pop("CONTAINER_ENGINE"),
        build_flags=tuple(shlex.split(values.pop("CONTAINER_BUILD_FLAGS", ""))),
        env=values,
    )
    answered = engine("info", check=False, timeout=60)
    if answered.returncode != 0:
        return None, f"{engine.command} info failed: {answered.stderr.strip()[-500:]}"
    return engine, ""
