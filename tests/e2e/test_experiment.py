"""Experiments in the generated project, through its real service: `make challenger`, the
service in `shadow` and `ab` modes, `make feedback`, `make ab-report`,
`make promote-challenger`, `make model-history`, on the trained project's registered models.

The traffic is the raw table's distinct rows, one request each, sent to the service (the
champion and the challenger loaded from the registry's aliases); their true outcomes go
through `make feedback` as in production (`experiment_traffic.py` makes the extra models and
the rows with the project's own code).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_serve import MODEL_NAME, READY_WITHIN, _request, _service
from tests.support import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

TRAFFIC = Path(__file__).with_name("experiment_traffic.py")


@pytest.fixture(name="project")
def project_fixture(trained: Path) -> Iterator[Path]:
    """The shared trained project; afterwards version 1 is the champion again, there is no
    challenger and the experiment's git-ignored files are gone."""
    yield trained
    helper(trained, "reset", "1")
    for leftover in ("data/feedback", "reports/monitoring", "reports/experiment"):
        shutil.rmtree(trained / leftover, ignore_errors=True)
    assert run(["git", "status", "--porcelain"], cwd=trained).stdout == ""


def helper(project: Path, *args: str) -> str:
    """Run experiment_traffic.py with the project's Python; its output."""
    command = [project / ".venv/bin/python", TRAFFIC, DEFAULT_PACKAGE, *args]
    return run(command, cwd=project).stdout.strip()


def serve(project: Path, mode: str, rows: list[dict[str, Any]], log: Path) -> list[str]:
    """Send each row as one request to the service in ``mode`` (champion and challenger from
    the registry's aliases, half the clients to the challenger in ab); the request ids."""
    env = {
        "MODEL_DIR": "",
        "MODEL_URI": f"models:/{MODEL_NAME}@champion",
        "CHALLENGER_MODE": mode,
        "CHALLENGER_SHARE": "0.5",
        "PREDICTION_LOG_DIR": str(log),
    }
    answered: list[dict[str, Any]] = []
    with _service(project, env) as service:
        deadline = time.monotonic() + READY_WITHIN
        while json.loads(_request(service.url + "/ready")[1])["challenger"]["status"] != "ready":
            assert time.monotonic() < deadline, "the challenger did not load"
            time.sleep(0.5)
        for row in rows:
            status, body = service.post("/predict", {"records": [row["record"]]})
            assert status == 200, body
            answered.append(body)
    assert service.exit_status == 0
    variants = {body["variant"] for body in answered}
    assert variants == ({"champion", "challenger"} if mode == "ab" else {"champion"})
    return [body["request_id"] for body in answered]


def feedback(project: Path, log: Path, ids: list[str], rows: list[dict[str, Any]]) -> None:
    """`make feedback` with the outcomes of the requests ``ids`` (of ``rows``)."""
    labels = log.with_suffix(".csv")
    lines = [f"{rid},{row['actual']}" for rid, row in zip(ids, rows, strict=False)]
    labels.write_text("request_id,actual\n" + "\n".join(lines) + "\n", "utf-8")
    run(["make", "feedback", f"LABELS={labels}"], cwd=project, env={"PREDICTION_LOG_DIR": str(log)})


def ab_report(project: Path, log: Path) -> tuple[int, dict[str, Any]]:
    """`make ab-report`'s exit status (make says `Error N`) and ab.json."""
    done = run(
        ["make", "ab-report"], cwd=project, env={"PREDICTION_LOG_DIR": str(log)}, check=False
    )
    status = 0 if done.returncode == 0 else int(done.stderr.rsplit("Error ", 1)[1].split()[0])
    report = json.loads((project / "reports/experiment/ab.json").read_text("utf-8"))
    assert report["message"] in done.stderr
    return status, report


def test_a_worse_challenger_then_a_better_one_then_too_few_labels(
    project: Path, tmp_path: Path
) -> None:
    """In shadow mode, a challenger that learnt nothing is worse (3) and not promoted; in ab
    mode, against it as champion, the trained model is better (0) and promoted; twelve
    labelled rows of a model as good as the champion are not enough (4), and the report says
    how many are needed."""
    rows = json.loads(helper(project, "rows"))
    weak = helper(project, "register", "permuted")
    assert run(["make", "challenger", f"VERSION={weak}"], cwd=project).returncode == 0
    log = tmp_path / "shadow"
    feedback(project, log, serve(project, "shadow", rows, log), rows)
    status, report = ab_report(project, log)
    assert (status, report["verdict"], report["design"]) == (3, "worse", "shadow")
    assert report["variants"]["challenger"]["labelled"] == len(rows)
    refused = run(["make", "promote-challenger"], cwd=project, check=False)
    assert refused.returncode != 0
    assert "challenger worse: " in refused.stderr
    assert "champion stays" in refused.stderr

    helper(project, "champion", weak)
    assert run(["make", "challenger", "VERSION=1"], cwd=project).returncode == 0
    log = tmp_path / "ab"
    feedback(project, log, serve(project, "ab", rows, log), rows)
    status, report = ab_report(project, log)
    assert (status, report["verdict"], report["design"]) == (0, "better", "ab")
    arms = report["variants"]
    assert arms["champion"]["model_versions"] == [weak]
    assert arms["challenger"]["model_versions"] == ["1"]
    share = arms["challenger"]["labelled"] / len(rows)
    assert 0.35 < share < 0.65  # half the clients, by the request id's hash
    promoted = run(["make", "promote-challenger"], cwd=project)
    assert "challenger version 1 accuracy" in promoted.stderr
    assert "promoted" in promoted.stderr
    history = run(["make", "model-history"], cwd=project).stdout
    lines = [line for line in history.splitlines() if line.startswith("  version")]
    assert lines[0].split()[:2] == ["version", "1"]
    assert "make promote-challenger" in lines[0]
    assert f"replaced {weak}:" in lines[0]
    assert lines[1].split()[:2] == ["version", weak]
    assert "e2e test: a weak champion" in lines[1]
    assert "'challenger': none" in history

    twin = helper(project, "register", "refit")
    run(["make", "challenger", f"VERSION={twin}"], cwd=project)
    log = tmp_path / "small"
    feedback(project, log, serve(project, "ab", rows, log)[:12], rows)
    status, report = ab_report(project, log)
    assert (status, report["verdict"]) == (4, "not_enough_evidence")
    assert report["message"].startswith("not enough evidence: ")
    assert report["still_needed"] > 0
    assert f"({report['still_needed']} more)" in report["message"]
