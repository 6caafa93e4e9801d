"""`scaffold status`, `plan` and `apply`: the fleet commands, thin over `scaffold.fleet`.

`scaffold.fleet` is imported inside the commands (fast --help).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scaffold.cli import interrupts, progress
from scaffold.cli.shared_options import F, format_option, jobs_option, to_option

if TYPE_CHECKING:
    from scaffold.fleet import Fleet
    from scaffold.fleet.report import Result

# What `--verify` alone runs: every generated project's `make check` (its lint, tests and
# validators, with a table of results).
DEFAULT_VERIFY = "make check"
STATE_DIR = ".scaffold-fleet"
EXIT_CODES = """Exit codes (the most severe across the fleet wins, in this order):
5 a repository failed or was unreachable (or its fleet row is invalid),
6 the --verify command failed, 3 conflicts present or predicted, 4 updates pending, 0 all
current or done. 1 means the command itself could not run, 2 a usage error."""


def _fleet_options(command: F) -> F:
    """REPOS, --fleet, --format, --jobs and --out: what every fleet command takes."""
    for option in reversed(
        (
            click.argument("repos", nargs=-1, type=click.Path(path_type=Path)),
            click.option(
                "--fleet",
                "fleet_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="fleet.yaml or fleet.csv: id, path (or git URL), branch, group, answers.",
            ),
            format_option("table"),
            jobs_option,
            click.option(
                "--out",
                type=click.Path(file_okay=False, path_type=Path),
                default=Path(STATE_DIR),
                show_default=True,
                help="Directory for patches, pull-request texts, the journal and clones.",
            ),
        )
    ):
        command = option(command)
    return command


def _verify_option(where: str) -> Callable[[F], F]:
    """`--verify [CMD]`: CMD, or `make check` when the option stands alone."""
    return click.option(
        "--verify",
        metavar="[CMD]",
        is_flag=False,
        flag_value=DEFAULT_VERIFY,
        default=None,
        callback=_not_a_repository,
        help=f"Run CMD {where} (alone, before another option or last: {DEFAULT_VERIFY}).",
    )


def _not_a_repository(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    """`--verify REPO ...` would take the first repository for the command: refuse it."""
    if value and value != DEFAULT_VERIFY and Path(value).is_dir():
        raise click.BadParameter(
            f"{value!r} is a directory, not a command: put --verify after the repositories"
            f" (alone, it runs `{DEFAULT_VERIFY}`), or write --verify='CMD'"
        )
    return value


def _read_fleet(repos: tuple[Path, ...], fleet_file: Path | None) -> Fleet:
    from scaffold import fleet
    from scaffold.errors import FleetError

    if fleet_file and repos:
        raise FleetError("give repositories as arguments or with --fleet, not both")
    if fleet_file:
        return fleet.load(fleet_file)
    if not repos:
        raise FleetError("no repositories: name them, or pass --fleet fleet.yaml")
    return fleet.from_paths(repos)


def finish(command: str, results: Sequence[Result], fmt: str, fleet: Fleet, **meta: Any) -> None:
    """Print the problems, the results and a summary; exit with the fleet's code."""
    from scaffold import fleet as fleet_api

    for problem in fleet.problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    click.echo(fleet_api.render(command, results, fmt, **meta))
    if fmt == "table":
        click.echo(fleet_api.summary(results), err=True)
    code = fleet_api.worst(result.code for result in results)
    if code:
        raise SystemExit(int(code))


UNCHANGED = "the repositories were not changed"


@click.command(epilog=EXIT_CODES)
@_fleet_options
@click.option(
    "--deep",
    is_flag=True,
    help="Also list template files the user deleted (renders each project's version).",
)
@_verify_option("in a clean worktree of each repo")
def status(
    repos: tuple[Path, ...],
    fleet_file: Path | None,
    fmt: str,
    jobs: int | None,
    out: Path,
    deep: bool,
    verify: str | None,
) -> None:
    """Where each repository stands: template version, behind, dirty, conflicts."""
    from scaffold.fleet import _work
    from scaffold.fleet import status as fleet_status

    fleet = _read_fleet(repos, fleet_file)
    interrupts.leaves(UNCHANGED)
    with progress.repositories(len(fleet.repos)) as on_done:
        results = fleet_status.status(
            fleet.repos,
            out.absolute(),
            deep=deep,
            verify=verify,
            jobs=jobs or _work.default_jobs(),
            on_done=on_done,
        )
    finish("status", results, fmt, fleet)


@click.command(epilog=EXIT_CODES)
@_fleet_options
@to_option
def plan(
    repos: tuple[Path, ...],
    fleet_file: Path | None,
    fmt: str,
    jobs: int | None,
    out: Path,
    to: str | None,
) -> None:
    """Run each update in a throwaway clone: a patch per repo, each file classed.

    The repositories are not changed. Kinds: added, updated, merged, conflict, removed,
    removed-but-modified (copier deletes it though the user changed it), user-deleted.
    """
    from scaffold.fleet import _work
    from scaffold.fleet import plan as fleet_plan

    fleet = _read_fleet(repos, fleet_file)
    interrupts.leaves(UNCHANGED)
    with progress.repositories(len(fleet.repos)) as on_done:
        results = fleet_plan.plan(
            fleet.repos,
            to,
            out.absolute(),
            jobs=jobs or _work.default_jobs(),
            on_done=on_done,
        )
    finish("plan", results, fmt, fleet, to=to)


@click.command(epilog=EXIT_CODES)
@_fleet_options
@to_option
@click.option(
    "--conflicts",
    type=click.Choice(["block", "draft"]),
    default="block",
    show_default=True,
    help="block: commit nothing, write <out>/<id>.patch; draft: commit the markers.",
)
@_verify_option("on the committed update branch")
@click.option("--resume", is_flag=True, help="Skip repos the journal says are done.")
@click.option(
    "--provider",
    type=click.Choice(["local"]),
    default="local",
    show_default=True,
    help="local: push to origin, write the pull-request text to <out>/<id>.md.",
)
def apply(
    repos: tuple[Path, ...],
    fleet_file: Path | None,
    fmt: str,
    jobs: int | None,
    out: Path,
    to: str | None,
    conflicts: str,
    verify: str | None,
    resume: bool,
    provider: str,
) -> None:
    """Commit each clean repo's update on a new branch scaffold/update-REF and push it.

    The branch checked out and the work tree are never touched; a dirty repo is
    skipped; nothing is force-pushed. Outcomes go to <out>/journal.jsonl.
    """
    from scaffold.fleet import _work
    from scaffold.fleet import apply as fleet_apply
    from scaffold.fleet.providers import LocalProvider

    fleet = _read_fleet(repos, fleet_file)
    state = out.absolute()
    interrupts.leaves(
        f"repositories finished so far are in {state / 'journal.jsonl'}; rerun with --resume"
    )
    with progress.repositories(len(fleet.repos)) as on_done:
        results = fleet_apply.apply(
            fleet.repos,
            to,
            state,
            LocalProvider(state),
            conflicts=conflicts,
            verify_command=verify,
            resume=resume,
            jobs=jobs or _work.default_jobs(),
            on_done=on_done,
        )
    finish("apply", results, fmt, fleet, to=to, provider=provider)
