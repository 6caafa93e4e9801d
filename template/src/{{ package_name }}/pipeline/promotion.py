"""The promotion gate: which registered model version serves as the champion.

Every evaluated model is registered as a new version (the candidate). The alias named by
``evaluate.alias`` (``champion``) moves to the candidate only if its score on the held-back
test set beats the current champion's score on the same set by more than
``evaluate.min_improvement`` (higher is better for a score such as ROC AUC or R², lower for a
loss or an error such as RMSE); the first candidate of a model becomes champion. The decision
itself is the pure function :func:`decide`; :func:`run_gate` applies it to a registry through
:class:`mlflow.MlflowClient` aliases (the deprecated stages are not used).

Every alias move (the gate's, ``make challenger``, ``make promote-challenger``, a canary's
promotion) goes through :func:`move_alias`, which records the decision on the model version
that takes the alias: a tag ``decision.<UTC time>`` holding the JSON of :class:`AliasMove`
(``alias``, ``command``, ``commit``, ``verdict``, ``replaced``), from which ``make
model-history`` reads the champion's lineage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..errors import StageError
from ..termination import sigterm_deferred

CHALLENGER_ALIAS = "challenger"
DECISION_PREFIX = "decision."
# MLflow tag keys take letters, digits, _ - . / and spaces: the time in ISO 8601's basic format.
DECISION_TIME = "%Y%m%dT%H%M%S.%fZ"


@dataclass(frozen=True)
class Decision:
    """Whether to promote the candidate, and why (a sentence for logs and reports)."""

    promote: bool
    reason: str


def decide(
    metric: str,
    candidate: float,
    champion: float | None,
    min_improvement: float,
    higher_is_better: bool = True,
) -> Decision:
    """Promote when there is no champion, or when the candidate beats it by the margin.

    The gain is the candidate's score minus the champion's, or the other way round when lower
    is better. A candidate that is worse, equal or better by no more than ``min_improvement``
    leaves the champion in place. The gain is rounded to 10 decimals first, so that a gain of
    exactly the margin never wins by a floating-point hair.
    """
    if champion is None:
        return Decision(
            True, f"no champion yet: the candidate ({metric} {candidate:.4f}) becomes champion"
        )
    gain = candidate - champion if higher_is_better else champion - candidate
    better = "" if higher_is_better else ", lower is better"
    comparison = (
        f"candidate {metric} {candidate:.4f} vs champion {champion:.4f} ({gain:+.4f}{better})"
    )
    if round(gain, 10) > min_improvement:
        return Decision(True, f"{comparison} beats it by more than {min_improvement}: promoted")
    return Decision(
        False, f"{comparison} does not beat it by more than {min_improvement}: champion stays"
    )


@dataclass(frozen=True)
class ScoredVersion:
    """A registered model version and its score on the held-back test set."""

    version: str
    value: float


@dataclass(frozen=True)
class GateResult:  # pylint: disable=too-many-instance-attributes  # the report's fields
    """What the gate saw and decided, as written to ``reports/promotion.json``."""

    registered_model: str
    alias: str
    metric: str
    min_improvement: float
    candidate: ScoredVersion
    champion: ScoredVersion | None
    decision: Decision
    challenger: bool = False  # whether the rejected candidate took the challenger alias

    @property
    def promoted(self) -> bool:
        """Whether the candidate took the alias."""
        return self.decision.promote

    @property
    def alias_version(self) -> str:
        """The version that holds the alias after the gate."""
        if self.promoted or self.champion is None:
            return self.candidate.version
        return self.champion.version

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "registered_model": self.registered_model,
            "alias": self.alias,
            "metric": self.metric,
            "min_improvement": self.min_improvement,
            "candidate": asdict(self.candidate),
            "champion": None if self.champion is None else asdict(self.champion),
            "promoted": self.promoted,
            "reason": self.decision.reason,
            "alias_version": self.alias_version,
            "challenger": self.challenger,
        }


@dataclass(frozen=True)
class AliasMove:
    """One alias move, as recorded on the version that took the alias: which alias, the
    command that moved it, the project's git commit, why, and the version it left."""

    alias: str
    command: str
    commit: str
    verdict: str
    replaced: str | None


def decision_key(moment: datetime) -> str:
    """The tag key of a decision taken at ``moment``: ``decision.20261207T081500.123456Z``."""
    return DECISION_PREFIX + moment.astimezone(UTC).strftime(DECISION_TIME)


def decision_time(key: str) -> datetime:
    """The UTC time of a decision tag's key (:func:`decision_key` read back)."""
    return datetime.strptime(key.removeprefix(DECISION_PREFIX), DECISION_TIME).replace(tzinfo=UTC)


def move_alias(  # pylint: disable=too-many-arguments
    client: MlflowClient,
    name: str,
    alias: str,
    version: str,
    *,
    command: str,
    verdict: str,
    commit: str,
) -> AliasMove:
    """Point ``alias`` at ``version`` and record the decision on that version, as one step
    that SIGTERM cannot cut in two."""
    current = current_champion(client, name, alias)
    move = AliasMove(
        alias=alias,
        command=command,
        commit=commit,
        verdict=verdict,
        replaced=None if current is None else str(current.version),
    )
    with sigterm_deferred():
        client.set_registered_model_alias(name, alias, version)
        client.set_model_version_tag(
            name, version, decision_key(datetime.now(UTC)), json.dumps(asdict(move))
        )
    return move


def current_champion(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version that holds ``alias``, or ``None`` if the model or the alias does not exist."""
    try:
        registered = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    if alias not in registered.aliases:
        return None
    return client.get_model_version_by_alias(name, alias)


@dataclass(frozen=True)
class Candidate:
    """A logged model to register (as logged by the train stage) and its test score."""

    model_uri: str
    model_id: str | None
    run_id: str
    value: float


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    """Create the registered model on first use."""
    try:
        client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name, description="Heart-disease risk classifier")


def require_complete(client: MlflowClient, candidate: Candidate) -> None:
    """Refuse a logged model whose upload did not finish (e.g. train was stopped within it)."""
    if candidate.model_id is None:
        return
    status = client.get_logged_model(candidate.model_id).status
    if status != LoggedModelStatus.READY:
        raise StageError(
            f"logged model {candidate.model_id} is {status}, not READY: "
            "run the train stage again (`dvc repro -f train`)"
        )


def run_gate(  # pylint: disable=too-many-arguments
    client: MlflowClient,
    *,
    name: str,
    alias: str,
    metric: str,
    min_improvement: float,
    candidate: Candidate,
    score: Callable[[str], float],
    higher_is_better: bool = True,
    commit: str = "unknown",
    challenger_on_reject: bool = False,
) -> GateResult:
    """Register the candidate, score the champion with ``score(model_uri)``, apply the gate.

    The champion is looked up and scored, and the decision made, before anything is written.
    Then the candidate (a logged model, complete since train finished) is registered and the
    alias moved to it with :func:`move_alias` when :func:`decide` says so, as one step that
    SIGTERM cannot cut in two: a version whose ``promoted`` tag says true always holds the
    alias. A rejected candidate takes the ``challenger`` alias instead when
    ``challenger_on_reject`` (``evaluate.challenger_on_reject``).
    """
    require_complete(client, candidate)
    current = current_champion(client, name, alias)
    champion = None
    if current is not None:
        version = str(current.version)
        champion = ScoredVersion(version, score(f"models:/{name}/{version}"))
    ensure_registered_model(client, name)
    decision = decide(
        metric,
        candidate.value,
        None if champion is None else champion.value,
        min_improvement,
        higher_is_better,
    )
    with sigterm_deferred():
        registered = client.create_model_version(
            name,
            source=candidate.model_uri,
            run_id=candidate.run_id,
            model_id=candidate.model_id,
            tags={
                f"test_{metric}": f"{candidate.value:.6f}",
                "promoted": str(decision.promote).lower(),
            },
        )
        if decision.promote or challenger_on_reject:
            move_alias(
                client,
                name,
                alias if decision.promote else CHALLENGER_ALIAS,
                str(registered.version),
                command="evaluate",
                verdict=decision.reason
                + ("" if decision.promote else "; challenger_on_reject: challenger"),
                commit=commit,
            )
    return GateResult(
        registered_model=name,
        alias=alias,
        metric=metric,
        min_improvement=min_improvement,
        candidate=ScoredVersion(str(registered.version), candidate.value),
        champion=champion,
        decision=decision,
        challenger=challenger_on_reject and not decision.promote,
    )
