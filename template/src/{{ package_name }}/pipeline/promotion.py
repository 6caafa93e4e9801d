"""The promotion gate: which registered model version serves as the champion.

Every evaluated model is registered as a new version (the candidate). The alias named by
``evaluate.alias`` (``champion``) moves to the candidate only if its score on the held-back
test set beats the current champion's score on the same set by more than
``evaluate.min_improvement`` (higher is better for a score such as ROC AUC or R², lower for a
loss or an error such as RMSE); the first candidate of a model becomes champion. The decision
itself is the pure function :func:`decide`; :func:`run_gate` applies it to a registry through
:class:`mlflow.MlflowClient` aliases (the deprecated stages are not used).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..errors import StageError
from ..termination import sigterm_deferred


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
class GateResult:
    """What the gate saw and decided, as written to ``reports/promotion.json``."""

    registered_model: str
    alias: str
    metric: str
    min_improvement: float
    candidate: ScoredVersion
    champion: ScoredVersion | None
    decision: Decision

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
        }


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
) -> GateResult:
    """Register the candidate, score the champion with ``score(model_uri)``, apply the gate.

    The champion is looked up and scored, and the decision made, before anything is written.
    Then the candidate (a logged model, complete since train finished) is registered and the
    alias set with :meth:`MlflowClient.set_registered_model_alias` when :func:`decide` says
    so, as one step that SIGTERM cannot cut in two: a version whose ``promoted`` tag says
    true always holds the alias.
    """
    require_complete(client, candidate)
    current = current_champion(client, name, alias)
    champion = None
    if current is not None:
        version = str(current.version)
        champion = ScoredVersion(version, score(f"models:/{name}/{version}"))
    ensure_registered_model(client, name)
    champion_value = None if champion is None else champion.value
    decision = decide(metric, candidate.value, champion_value, min_improvement, higher_is_better)
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
        if decision.promote:
            client.set_registered_model_alias(name, alias, registered.version)
    return GateResult(
        registered_model=name,
        alias=alias,
        metric=metric,
        min_improvement=min_improvement,
        candidate=ScoredVersion(str(registered.version), candidate.value),
        champion=champion,
        decision=decision,
    )
