"""`scaffold new --dataset`: the template's `dataset` answer, the options, and bad tables.

What needs a project's own Python (the inference, `make test repro`) is in
tests/e2e/test_dataset.py; these run in seconds.
"""

from __future__ import annotations

from pathlib import Path

import copier
import pytest
import yaml
from copier.errors import CopierError

from scaffold import api, copying
from scaffold.dataset import Dataset, install, named_defaults, with_answer
from scaffold.errors import InvalidAnswerError, ScaffoldError
from tests.support import (
    REPO_ROOT,
    commit_all,
    copy_template_repo,
    expected_files,
    files_under,
    render,
    run,
    scaffold,
)

TABLE = "Customer ID,plan,churned\nC-1,basic,no\nC-2,premium,yes\n"


def test_a_dataset_project_renders_without_the_starter_data(tmp_path: Path) -> None:
    """No heart.csv, heart contract or heart dictionary; params.yaml reads the table."""
    project = render(tmp_path / "p", dataset="churn.parquet")
    assert files_under(project) == expected_files({"dataset": "churn.parquet"})
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["prepare"]["raw_data"] == "data/raw/churn.parquet"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["dataset"] == "churn.parquet"  # copier update renders without them too


def test_the_starter_project_keeps_its_data(tmp_path: Path) -> None:
    """Without a dataset: heart.csv, its contract and params.yaml as before."""
    project = render(tmp_path / "p")
    assert {"data/raw/heart.csv", "data/contract.yaml", "docs/data.md"} <= files_under(project)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["prepare"]["raw_data"] == "data/raw/heart.csv"


def test_an_update_keeps_the_starter_data_out(tmp_path: Path) -> None:
    """`scaffold update` to a newer template: the answers stay (the task too), and neither
    heart.csv nor the heart contract comes back; the team's contract and table are left as
    they are."""
    template = copy_template_repo(tmp_path / "template")
    run(["git", "tag", "v1"], cwd=template)
    project = tmp_path / "churn"
    copier.run_copy(
        str(template),
        project,
        data={"dataset": "churn.csv", "task": "multiclass"},
        defaults=True,
        vcs_ref="v1",
    )
    (project / "data" / "raw" / "churn.csv").write_text(TABLE, encoding="utf-8")
    (project / "data" / "contract.yaml").write_text("# the team's\n", encoding="utf-8")
    run(["git", "init", "--quiet", "--initial-branch=main"], cwd=project)
    commit_all(project, "churn project")
    (template / "template" / "data" / "NEW.md").write_text("new\n", encoding="utf-8")
    commit_all(template, "v2", tag="v2")

    result = api.update(project, lock=False)

    assert (result.new_version, result.added, result.conflicts) == ("v2", ("data/NEW.md",), ())
    assert sorted(path.name for path in (project / "data" / "raw").iterdir()) == ["churn.csv"]
    assert (project / "data" / "contract.yaml").read_text(encoding="utf-8") == "# the team's\n"
    assert not (project / "docs" / "data.md").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (answers["dataset"], answers["task"]) == ("churn.csv", "multiclass")
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["evaluate"]["metric"] == "f1_macro"


@pytest.mark.parametrize("name", ["sub/churn.csv", "churn.xlsx", "churn"])
def test_the_dataset_answer_is_a_table_file_name(tmp_path: Path, name: str) -> None:
    """copier's validator: a file name in data/raw/ ending in .csv or .parquet."""
    with pytest.raises((ValueError, CopierError), match=r"ending in \.csv or \.parquet"):
        render(tmp_path / "p", dataset=name)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("exports/churn.csv", "churn.csv"),
        ("My Data (2024).CSV", "My-Data-2024.csv"),
        ("é.parquet", "data.parquet"),
    ],
)
def test_the_table_keeps_a_name_every_tool_reads(path: str, name: str) -> None:
    """Letters, digits, dots, dashes and underscores: params.yaml, make and DVC agree."""
    assert Dataset(Path(path), "churned").name == name


@pytest.mark.parametrize(
    ("directory", "name"),
    [("churn", "Churn"), ("wine-quality_v2", "Wine Quality V2"), ("2024 churn", None)],
)
def test_a_table_project_is_named_after_its_directory_and_table(
    directory: str, name: str | None
) -> None:
    """Not "Heart Disease Risk": the directory's words, unless it starts with a digit."""
    defaults = named_defaults(Path("/teams") / directory, Dataset(Path("Churn 2024.csv"), "left"))
    assert defaults.get("project_name") == name
    assert (
        defaults["description"]
        == "Predict left from Churn-2024.csv, with a reproducible MLOps pipeline"
    )
    assert named_defaults(Path("churn"), None) == {}


def test_named_defaults_are_defaults_and_answers_still_win(tmp_path: Path) -> None:
    """Rendered with --defaults: the package and the registered model take the directory's
    name; an answer given with -d wins over it."""
    defaults = named_defaults(tmp_path / "churn", Dataset(Path("churn.csv"), "churned"))
    for dest, data in (("a", {}), ("b", {"project_name": "Ours"})):
        answers = {"dataset": "churn.csv", **data}
        copying.render(
            str(REPO_ROOT), "HEAD", tmp_path / dest, answers, defaults=True, user_defaults=defaults
        )
    first = yaml.safe_load((tmp_path / "a" / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (first["package_name"], first["project_slug"]) == ("churn", "churn")
    assert first["description"].startswith("Predict churned from churn.csv")
    second = yaml.safe_load((tmp_path / "b" / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert second["package_name"] == "ours"


def test_the_inference_gets_the_options_it_was_given() -> None:
    """--task, --id and --positive only when given; --force always (the template's contract
    goes)."""
    assert Dataset(Path("t.csv"), "churned").arguments() == [
        "data/raw/t.csv",
        "--target",
        "churned",
        "--force",
    ]
    assert Dataset(Path("t.csv"), "n", "regression").arguments()[3:5] == ["--task", "regression"]
    given = Dataset(Path("t.csv"), "churned", id_column="Customer ID", positive="yes")
    assert given.arguments()[-5:] == ["--id", "Customer ID", "--positive", "yes", "--force"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--dataset", "missing.csv", "--target", "churned"],
            "--dataset missing.csv: no such file",
        ),
        (["--dataset", "table.txt", "--target", "churned"], "a table is a .csv or .parquet file"),
        (["--dataset", "table.csv"], "--dataset needs --target COLUMN"),
        (["--target", "churned"], "--target describes a table: pass --dataset FILE too"),
        (["--positive", "yes"], "--positive describes a table"),
        (
            ["--data-file", "table.csv"],
            "table.csv is a table: make a project from it with --dataset table.csv --target COLUMN",
        ),
        (["-d", "dataset=table.csv"], "'dataset' is answered by --dataset FILE --target"),
        (
            ["--dataset", "table.csv", "--target", "churned", "-d", "dataset=x.csv"],
            "'dataset' is answered by --dataset FILE",
        ),
        (
            ["--dataset", "table.csv", "--target", "n", "--task", "regression", "--positive", "1"],
            "--positive: only a binary task has one, not regression",
        ),
    ],
)
def test_bad_dataset_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    """Exit 1, one line, nothing rendered, before any slow step."""
    (tmp_path / "table.csv").write_text(TABLE, encoding="utf-8")
    (tmp_path / "table.txt").write_text(TABLE, encoding="utf-8")
    done = scaffold("new", "-q", "out", "--defaults", "--no-lock", *args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["table.csv", "table.txt"]


def test_the_task_is_an_answer_only_through_task(tmp_path: Path) -> None:
    """--task becomes copier's `task` answer (params.yaml is rendered for it); given by hand
    beside --dataset, it is refused; left out, the inference decides after the render."""
    table = tmp_path / "t.csv"
    table.write_text(TABLE, encoding="utf-8")
    answers = with_answer({}, Dataset(table, "n", "regression"))
    assert (answers["dataset"], answers["task"]) == ("t.csv", "regression")
    assert "task" not in with_answer({}, Dataset(table, "n"))
    with pytest.raises(InvalidAnswerError, match="'task' is answered by --task"):
        with_answer({"task": "binary"}, Dataset(table, "n"))


def test_a_failed_install_says_why_not_where(tmp_path: Path) -> None:
    """make's own `*** … Error 2` lines are passed over for the recipe's error line."""
    (tmp_path / "Makefile").write_text(
        "install: uv.lock\n"
        "uv.lock:\n\t@$(MAKE) --no-print-directory lock\n"
        "lock:\n\t@echo 'resolving' >&2; echo 'error: needs Python 3.13 or newer' >&2; exit 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ScaffoldError) as caught:
        install(tmp_path, "pkg")
    assert caught.value.message == "make install: needs Python 3.13 or newer"


def test_a_dataset_project_that_cannot_be_locked_says_so_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """Offline with an empty uv cache: the lock's reason in one line, before any install."""
    (tmp_path / "table.csv").write_text(TABLE, encoding="utf-8")
    offline = {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    args = ["--dataset", "table.csv", "--target", "churned"]
    done = scaffold("new", "-q", "out", "--defaults", *args, cwd=tmp_path, env=offline)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: --dataset: ") and "could not be: " in lines[0]
    assert not (tmp_path / "out").exists()
