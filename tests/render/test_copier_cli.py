"""The template works with plain `copier copy`, without scaffold in the loop."""

from __future__ import annotations

from pathlib import Path

from scaffold import copying
from tests.support import BIN, REPO_ROOT, expected_files, files_under, run


def test_plain_copier_copy(tmp_path: Path) -> None:
    """Same files, byte for byte, as scaffold's render (its copier Worker skips repeated work)."""
    dest = tmp_path / "plain"
    run(
        [
            BIN / "copier",
            "copy",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--quiet",
            ".",
            dest,
            "-d",
            "package_name=plain_pkg",
            "-d",
            "project_name=Plain Project",
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    # The slug names the chart directory, so expected_files needs it too.
    expected = expected_files({"package_name": "plain_pkg", "project_slug": "plain-project"})
    assert files_under(dest) == expected
    answers = (dest / ".copier-answers.yml").read_text()
    assert "package_name: plain_pkg" in answers
    assert "project_slug: plain-project" in answers
    assert "reserved_package_names" not in answers
    ours = tmp_path / "ours"
    data = {"package_name": "plain_pkg", "project_name": "Plain Project"}
    copying.render(str(REPO_ROOT), "HEAD", ours, data, defaults=True)
    assert files_under(ours) == expected
    rendered = sorted(expected - {".copier-answers.yml"})  # it names a commit of its own
    assert [(ours / n).read_bytes() for n in rendered] == [
        (dest / n).read_bytes() for n in rendered
    ]
