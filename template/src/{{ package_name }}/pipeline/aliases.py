"""The registry's aliases by hand: choose a challenger, promote it, read the champion's lineage.

Usage, from the project root::

    python -m <package>.pipeline.aliases challenger VERSION   # make challenger VERSION=N
    python -m <package>.pipeline.aliases promote-challenger   # make promote-challenger
    python -m <package>.pipeline.aliases canary-promote VERSION  # make canary-promote (its end)
    python -m <package>.pipeline.aliases history              # make model-history

``challenger`` points the ``challenger`` alias at a registered version (not the champion's).
``promote-challenger`` moves the champion alias (``evaluate.alias``) to the challenger only
when the experiment report (``reports/experiment/ab.json``, ``make ab-report``) is about the
current challenger and says it is significantly better on the primary metric; the challenger
alias is then removed. Otherwise it says why, changes nothing and exits 1. ``canary-promote``
moves the champion alias to the version that a canary release has just made the stable
track's model (``make canary-promote CANARY_MODEL=N``, after its ``helm upgrade`` succeeded);
its verdict is the line of the last ``make canary-check`` (``reports/canary/check.json``), as
it was, or says that no check was recorded. Each records the decision on the version
(``promotion.move_alias``); ``history`` prints the champion's lineage from these records,
newest first.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .. import tracking
from ..cli import make_parser, parse_args, run_stage
from ..errors import StageError
from ..settings import Settings
from .promotion import (
    CHALLENGER_ALIAS,
    DECISION_PREFIX,
    AliasMove,
    Decision,
    current_champion,
    decision_time,
    move_alias,
)

LOG = logging.getLogger(__name__)
NAME = tracking.REGISTERED_MODEL_NAME


def _client(settings: Settings) -> MlflowClient:
    tracking.configure(settings.root, settings.params.mlflow.tracking_uri)
    return MlflowClient()


def _versions(client: MlflowClient) -> list[Any]:
    """Every registered version of the model, oldest first (none: an error)."""
    found = client.search_model_versions(f"name='{NAME}'")
    if not found:
        raise StageError(f"no registered model {NAME}: run the pipeline first (make repro)")
    return sorted(found, key=lambda version: int(version.version))


def _registered(settings: Settings, version: str, setting: str) -> MlflowClient:
    """The registry's client, once ``version`` (given as ``setting``) is a registered version."""
    if not version.isdigit():
        raise StageError(
            f"{setting} must be a model version number, e.g. {setting}=3, not {version!r}"
        )
    client = _client(settings)
    known = [str(found.version) for found in _versions(client)]
    if version not in known:
        raise StageError(f"{NAME} has no version {version} (its versions: {', '.join(known)})")
    return client


def choose_challenger(settings: Settings, version: str) -> AliasMove:
    """Point the challenger alias at ``version`` (``make challenger VERSION=N``)."""
    client = _registered(settings, version, "VERSION")
    alias = settings.params.evaluate.alias
    champion = current_champion(client, NAME, alias)
    if champion is not None and str(champion.version) == version:
        raise StageError(f"version {version} is the {alias}: a challenger must be another version")
    held_by = "none" if champion is None else f"version {champion.version}"
    move = move_alias(
        client,
        NAME,
        CHALLENGER_ALIAS,
        version,
        command="make challenger",
        verdict=f"chosen by hand to challenge the {alias} ({held_by})",
        commit=tracking.git_commit(settings.root),
    )
    LOG.info(
        "'%s' is version %s (was %s); '%s' is %s",
        CHALLENGER_ALIAS,
        version,
        move.replaced or "none",
        alias,
        held_by,
    )
    return move


def experiment_decision(report: dict[str, Any], challenger: str, champion: str) -> Decision:
    """Whether the experiment report lets the challenger take the champion's place, and why,
    in the gate's words (``promotion.decide``)."""
    primary = report["metrics"][0]
    tested = report["variants"]["challenger"]["model_versions"]
    if tested != [challenger]:
        return Decision(
            False,
            f"the report is about challenger version(s) {', '.join(tested) or 'none'}, not "
            f"version {challenger}: run make ab-report again; champion stays",
        )
    if report["verdict"] != "better":
        return Decision(False, f"{report['message']}: champion stays")
    return Decision(
        True,
        f"challenger version {challenger} {primary['metric']} {primary['challenger']:.4f} vs "
        f"champion version {champion} {primary['champion']:.4f} "
        f"({primary['difference']:+.4f}, {primary['test']}: p = {primary['p_value']:.3g} < "
        f"{report['alpha']}, {report['design']}): promoted",
    )


def promote_challenger(settings: Settings) -> Decision:
    """Move the champion alias to the challenger when the experiment report says so."""
    path = settings.experiment_report
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageError(f"{settings.relative(path)} not found: run make ab-report first") from None
    except json.JSONDecodeError as error:
        raise StageError(f"{settings.relative(path)} is not valid JSON: {error}") from None
    client = _client(settings)
    alias = settings.params.evaluate.alias
    challenger = current_champion(client, NAME, CHALLENGER_ALIAS)
    if challenger is None:
        raise StageError(f"{NAME} has no challenger: make challenger VERSION=N first")
    champion = current_champion(client, NAME, alias)
    champion_version = "none" if champion is None else str(champion.version)
    decision = experiment_decision(report, str(challenger.version), champion_version)
    if not decision.promote:
        raise StageError(decision.reason)
    move_alias(
        client,
        NAME,
        alias,
        str(challenger.version),
        command="make promote-challenger",
        verdict=decision.reason,
        commit=tracking.git_commit(settings.root),
    )
    client.delete_registered_model_alias(NAME, CHALLENGER_ALIAS)
    LOG.info("%s; '%s' is version %s, no challenger", decision.reason, alias, challenger.version)
    return decision


def canary_verdict(settings: Settings) -> str:
    """The last canary check's line and time (``make canary-check``), or that there was none."""
    path = settings.canary_check
    try:
        check = json.loads(path.read_text(encoding="utf-8"))
        return f"canary-check at {check['checked_at']}: {check['line']}"
    except FileNotFoundError:
        return f"no canary-check verdict ({settings.relative(path)}): promoted without one"
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise StageError(
            f"{settings.relative(path)} is not a canary-check result: {error}"
        ) from None


def promote_canary(settings: Settings, version: str) -> AliasMove:
    """Move the champion alias to ``version``, the model the canary release promoted."""
    client = _registered(settings, version, "CANARY_MODEL")
    alias = settings.params.evaluate.alias
    move = move_alias(
        client,
        NAME,
        alias,
        version,
        command="make canary-promote",
        verdict=canary_verdict(settings),
        commit=tracking.git_commit(settings.root),
    )
    LOG.info(
        "'%s' is version %s (was %s): %s", alias, version, move.replaced or "none", move.verdict
    )
    return move


@dataclass(frozen=True)
class Record:
    """A decision recorded on a version: when, which version, and the move."""

    time: datetime
    version: str
    move: AliasMove


def records(versions: Sequence[Any]) -> list[Record]:
    """Every decision recorded on ``versions``, newest first."""
    found = [
        Record(decision_time(key), str(version.version), AliasMove(**json.loads(text)))
        for version in versions
        for key, text in version.tags.items()
        if key.startswith(DECISION_PREFIX)
    ]
    return sorted(found, key=lambda record: record.time, reverse=True)


def moved_at(settings: Settings, alias: str, version: str) -> datetime | None:
    """When ``alias`` last moved to ``version``, from the decisions recorded on it; ``None``
    when none is, or ``version`` is no registered version (an exported model's directory)."""
    uri = tracking.resolve_tracking_uri(settings.root, settings.params.mlflow.tracking_uri)
    # Never create the embedded store just to find it empty.
    no_store = (
        uri == tracking.default_tracking_uri(settings.root)
        and not (settings.root / tracking.DEFAULT_STORE).is_file()
    )
    if no_store or not version.isdigit():
        return None
    try:
        found = MlflowClient(uri).get_model_version(NAME, version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise StageError(f"MLflow: {error}") from None
    return max((r.time for r in records([found]) if r.move.alias == alias), default=None)


def lineage(recorded: Sequence[Record], alias: str, version: str | None) -> list[Record]:
    """The moves that made ``version`` the holder of ``alias``, then its predecessor's, …"""
    chain: list[Record] = []
    cutoff: datetime | None = None
    while version is not None:
        move = next(
            (
                record
                for record in recorded
                if record.version == version
                and record.move.alias == alias
                and (cutoff is None or record.time < cutoff)
            ),
            None,
        )
        if move is None:
            break
        chain.append(move)
        version, cutoff = move.move.replaced, move.time
    return chain


def history_lines(settings: Settings) -> list[str]:
    """The champion's lineage, newest first, one line per move, and the current challenger."""
    client = _client(settings)
    alias = settings.params.evaluate.alias
    versions = _versions(client)
    champion = current_champion(client, NAME, alias)
    recorded = records(versions)
    lines = [f"{NAME}: '{alias}' lineage, newest first"]
    for record in lineage(recorded, alias, None if champion is None else str(champion.version)):
        move = record.move
        commit = move.commit[:12]
        lines.append(
            f"  version {record.version}  {record.time:%Y-%m-%d %H:%M:%S} UTC  {move.command}  "
            f"{commit}  replaced {move.replaced or 'none'}: {move.verdict}"
        )
    if champion is None:
        lines.append("  no champion yet")
    challenger = current_champion(client, NAME, CHALLENGER_ALIAS)
    lines.append(
        f"'{CHALLENGER_ALIAS}': "
        + ("none" if challenger is None else f"version {challenger.version}")
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = make_parser(__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = commands.add_parser("challenger", help="point the challenger alias at VERSION")
    chosen.add_argument("version", metavar="VERSION")
    commands.add_parser("promote-challenger", help="make the challenger the champion, if better")
    promoted = commands.add_parser(
        "canary-promote", help="the champion alias to VERSION, the canary's promoted model"
    )
    promoted.add_argument("version", metavar="VERSION")
    commands.add_parser("history", help="print the champion's lineage")
    args = parse_args(parser, argv)
    if args.command == "challenger":
        return run_stage(
            "challenger", _registry(lambda: choose_challenger(Settings(), args.version))
        )
    if args.command == "promote-challenger":
        return run_stage("promote-challenger", _registry(lambda: promote_challenger(Settings())))
    if args.command == "canary-promote":
        return run_stage(
            "canary-promote", _registry(lambda: promote_canary(Settings(), args.version))
        )
    return run_stage(
        "model-history",
        _registry(lambda: sys.stdout.write("\n".join(history_lines(Settings())) + "\n")),
    )


def _registry(body: Callable[[], object]) -> Callable[[], object]:
    """``body`` with the registry's errors as one line (an unreachable tracking server…)."""

    def guarded() -> object:
        try:
            return body()
        except MlflowException as error:
            raise StageError(f"MLflow: {error}") from None

    return guarded


if __name__ == "__main__":
    raise SystemExit(main())
