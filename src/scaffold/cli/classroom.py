"""`scaffold class provision|push-fix|status`: the course commands.

Thin over `scaffold.classroom`, and printed like the fleet commands (`scaffold.cli.fleet`):
the same formats, progress bar, summary line and exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from scaffold.cli import interrupts, progress
from scaffold.cli.fleet import EXIT_CODES, STATE_DIR, finish
from scaffold.cli.shared_options import F, format_option, jobs_option, to_option, vcs_ref_option

if TYPE_CHECKING:
    from scaffold.fleet import Fleet


def _class_options(command: F) -> F:
    """--fleet, --roster and --out: which class, and which of its students."""
    for option in reversed(
        (
            click.option(
                "--fleet",
                "fleet_path",
                type=click.Path(exists=True, path_type=Path),
                help="The class directory made by `class provision` (its fleet.csv), "
                "or any fleet file.",
            ),
            click.option(
                "--roster",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="Only these students (with --out DIR, the class directory).",
            ),
            click.option(
                "--out", type=click.Path(file_okay=False, path_type=Path), help="Class directory."
            ),
        )
    ):
        command = option(command)
    return command


def _class_fleet(
    fleet_path: Path | None, roster: Path | None, out: Path | None
) -> tuple[Fleet, Path]:
    """The class's repositories and the directory for clones, patches and the journal."""
    from scaffold import api, fleet
    from scaffold.classroom import roster as roster_file
    from scaffold.classroom.provision import FLEET_FILE
    from scaffold.errors import FleetError

    if fleet_path is None and out is None:
        raise FleetError("name the class: --fleet DIR (or fleet file), or --roster FILE --out DIR")
    if fleet_path is not None and out is not None:
        raise FleetError("give --fleet or --out, not both")
    file = fleet_path or out or Path()
    if file.is_dir():
        file = file / FLEET_FILE
    if not file.is_file():
        raise FleetError(
            f"{file} not found: provision the class first (`scaffold class provision`)"
        )
    found = fleet.load(file)
    state = file.parent.absolute() / STATE_DIR
    if roster is None:
        return found, state
    by_id = {repo.id: repo for repo in found.repos}
    picked = []
    for student in roster_file.read(roster, api.questions()):
        if student.problem:
            picked.append(fleet.Repo(student.id, "", problem=student.problem))
        elif student.id in by_id:
            picked.append(by_id[student.id])
        else:
            where = f"{roster.name}:{student.line}"
            picked.append(
                fleet.Repo(student.id, "", problem=f"{where}: {student.id!r} is not in {file}")
            )
    return fleet.Fleet(tuple(picked)), state


@click.group(name="class")
def class_group() -> None:
    """Courses: a repository per student, fixes pushed mid-course, the class at a glance."""


@class_group.command(epilog=EXIT_CODES)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV: id, optional remote, optional columns named after questions.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The class directory: one repository per id, and fleet.csv.",
)
@click.option("--template", metavar="SRC", help="Template path or git URL (default: bundled).")
@vcs_ref_option
@click.option(
    "--lock/--no-lock", default=True, show_default=True, help="uv lock each distinct project."
)
@format_option("table")
@jobs_option
def provision(
    roster: Path,
    out: Path,
    template: str | None,
    vcs_ref: str | None,
    lock: bool,
    fmt: str,
    jobs: int | None,
) -> None:
    """One repository per roster row under OUT/<id>, first commit made and pushed.

    Bad rows are reported by line and the others go on; a rerun skips the repositories
    that exist. OUT/fleet.csv lists them all for `scaffold status|plan|apply`.
    """
    from scaffold import api, fleet, options
    from scaffold.classroom import roster as roster_file
    from scaffold.classroom.provision import provision as make
    from scaffold.fleet import _work

    root = api.resolve_template(template, vcs_ref).root
    students = roster_file.read(roster, options.load_questions(root) if root else [])
    interrupts.leaves("repositories finished so far are in place; rerun to make the rest")
    with progress.repositories(len(students)) as on_done:
        results = make(
            students,
            out.absolute(),
            template=template,
            vcs_ref=vcs_ref,
            lock=lock,
            jobs=jobs or _work.default_jobs(),
            on_done=on_done,
        )
    bad = tuple(fleet.Repo(s.id, "", problem=s.problem) for s in students if s.problem)
    finish("class provision", results, fmt, fleet.Fleet(bad))


@class_group.command(name="push-fix", epilog=EXIT_CODES + " 4 also: a fix left as a patch.")
@to_option
@_class_options
@click.option("--verify", metavar="CMD", help="Run CMD on the committed update branch.")
@click.option("--resume", is_flag=True, help="Skip students the journal says are done.")
@format_option("table")
@jobs_option
def push_fix(
    to: str | None,
    fleet_path: Path | None,
    roster: Path | None,
    out: Path | None,
    verify: str | None,
    resume: bool,
    fmt: str,
    jobs: int | None,
) -> None:
    """`apply` that never overwrites a file a student changed.

    Where the update does not merge cleanly into a student's file, the file stays as the
    student has it and the fix goes on the branch as fixes/REF/<path>.patch with
    fixes/REF/FIX.md. Pushed to each student's remote; never forced.
    """
    from scaffold.classroom.push_fix import push_fix as fix
    from scaffold.fleet import _work

    found, state = _class_fleet(fleet_path, roster, out)
    interrupts.leaves(
        f"students finished so far are in {state / 'journal.jsonl'}; rerun with --resume"
    )
    with progress.repositories(len(found.repos)) as on_done:
        results = fix(
            found.repos,
            to,
            state,
            verify_command=verify,
            resume=resume,
            jobs=jobs or _work.default_jobs(),
            on_done=on_done,
        )
    finish("class push-fix", results, fmt, found, to=to)


@class_group.command(name="status", epilog=EXIT_CODES)
@_class_options
@click.option("--test", is_flag=True, help="Run `make test` in a clean worktree of each repo.")
@format_option("csv")
@jobs_option
def class_status(
    fleet_path: Path | None,
    roster: Path | None,
    out: Path | None,
    test: bool,
    fmt: str,
    jobs: int | None,
) -> None:
    """A CSV keyed by student id: version, behind, last commit, make test, pipeline ran."""
    from scaffold.classroom.status import class_status as inspect
    from scaffold.fleet import _work

    found, state = _class_fleet(fleet_path, roster, out)
    interrupts.leaves("the repositories were not changed")
    with progress.repositories(len(found.repos)) as on_done:
        results = inspect(
            found.repos,
            state,
            test=test,
            jobs=jobs or _work.default_jobs(),
            on_done=on_done,
        )
    finish("class status", results, fmt, found)
