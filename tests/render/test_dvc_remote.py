"""Render tier: every DVC remote choice writes a .dvc/config that DVC itself loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from dvc.config import Config

from tests.support import render

# remote choice → (scheme DVC must see, the `dvc[...]` extra the project must depend on)
REMOTES = {
    "local": ("", None),
    "s3": ("s3://", "s3"),
    "gcs": ("gs://", "gs"),
    "azure": ("azure://", "azure"),
    "ssh": ("ssh://", "ssh"),
}


@pytest.mark.parametrize("remote", REMOTES)
def test_remote_config_loads_with_the_right_scheme(remote: str, tmp_path: Path) -> None:
    project = render(tmp_path / "p", dvc_remote=remote)
    config = Config(dvc_dir=str(project / ".dvc"), validate=True)
    assert config["core"]["remote"] == "storage"
    assert config["core"]["analytics"] is False
    url = config["remote"]["storage"]["url"]
    scheme, extra = REMOTES[remote]
    if remote == "local":
        assert Path(url).is_absolute()
        assert "://" not in url
    else:
        assert url.startswith(scheme)
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    dvc = [dep for dep in dependencies if dep.startswith("dvc")]
    assert dvc == [f"dvc[{extra}]>=3.60" if extra else "dvc>=3.60"]


def test_local_remote_url_is_configurable(tmp_path: Path) -> None:
    target = tmp_path / "storage"
    project = render(tmp_path / "p", dvc_remote_url=str(target))
    config = Config(dvc_dir=str(project / ".dvc"), validate=True)
    assert config["remote"]["storage"]["url"] == str(target)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"dvc_remote": "s3", "dvc_remote_url": "gs://bucket/x"}, "must start with s3://"),
        ({"dvc_remote_url": "relative/dir"}, "must be absolute or start with ~"),
        ({"dvc_remote_url": "s3://bucket"}, "must be a directory path"),
    ],
)
def test_mismatched_remote_url_is_rejected(
    answers: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        render(tmp_path / "p", **answers)
    assert not (tmp_path / "p" / ".dvc").exists()
