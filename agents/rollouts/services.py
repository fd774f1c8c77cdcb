"""Starting, promoting and rolling back rollouts; each is audited (core.audit_log).

A rollout ends exactly once: promote, a person's roll back and the judge's roll back are each a
conditional update of an active rollout, so when they race exactly one of them wins and the
others get a Conflict. While a rollout is active the agent's current version is its baseline:
edits and rollbacks of the agent wait until it ends (rollout_none_active).
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from agents.models import Agent, AgentVersion, Rollout
from agents.models.rollout import MAX_MIN_TASKS, MAX_MULTIPLE, MAX_PERCENT, MIN_MULTIPLE, MIN_PERCENT
from agents.services.serving import version_make_current
from agents.services.version_checks import version_not_serving
from core import clock
from core.audit_log import audit_record
from core.errors import Conflict, Invalid, NotFound

MAX_REASON_CHARS = 2000


@transaction.atomic
def rollout_start(
    *,
    actor: User,
    agent_name: str,
    canary_version: int,
    percent: int,
    failure_rate_multiple: Decimal | None = None,
    cost_multiple: Decimal | None = None,
    min_tasks: int | None = None,
) -> Rollout:
    """Send `percent` of the agent's new sessions to version `canary_version`; the rest keep the
    current version (the baseline). Omitted thresholds take the model's defaults."""
    _check_range("percent", percent, MIN_PERCENT, MAX_PERCENT)
    thresholds: dict[str, Any] = {}
    for field, value in (("failure_rate_multiple", failure_rate_multiple), ("cost_multiple", cost_multiple)):
        if value is not None:
            _check_range(field, value, MIN_MULTIPLE, MAX_MULTIPLE)
            thresholds[field] = value
    if min_tasks is not None:
        _check_range("min_tasks", min_tasks, 1, MAX_MIN_TASKS)
        thresholds["min_tasks"] = min_tasks
    # Row lock: an edit or a rollback of the agent, or a second start, waits for this one.
    agent = Agent.objects.select_for_update().filter(name=agent_name).first()
    if agent is None or agent.current_version_id is None:
        raise NotFound(f"no agent named {agent_name!r}", field="name")
    canary = AgentVersion.objects.filter(agent=agent, number=canary_version).first()
    if canary is None:
        raise NotFound(f"agent {agent_name!r} has no version {canary_version}", field="canary_version")
    if canary.pk == agent.current_version_id:
        raise Conflict(
            f"version {canary_version} is the current version; a canary is another version "
            "(roll the agent back to the baseline first)",
            field="canary_version",
        )
    # A candidate has not passed its required eval suites (or failed them): serving it to a
    # share of the users would go around them.
    refusal = version_not_serving(canary, field="canary_version", use="be a canary")
    if refusal is not None:
        raise refusal
    rollout_none_active(agent)
    rollout = Rollout.objects.create(
        agent=agent,
        baseline_id=agent.current_version_id,
        canary=canary,
        percent=percent,
        created_by=actor,
        created_at=clock.now(),
        **thresholds,
    )
    rollout.refresh_from_db(fields=["baseline", "failure_rate_multiple", "cost_multiple", "min_tasks"])
    audit_record(
        actor=actor,
        action="rollout.started",
        object_type="rollout",
        object_id=str(rollout.pk),
        after=_audited(rollout, agent_name=agent.name),
    )
    return rollout


def rollout_active_id(agent_id: int) -> int | None:
    """The agent's active rollout, if any; call it holding the agent's row lock."""
    active = Rollout.objects.filter(agent_id=agent_id, status=Rollout.Status.ACTIVE)
    return active.values_list("pk", flat=True).first()


def rollout_none_active(agent: Agent) -> None:
    """Conflict while the agent has an active rollout; call it holding the agent's row lock."""
    rollout_id = rollout_active_id(agent.pk)
    if rollout_id is not None:
        raise Conflict(
            f"agent {agent.name!r} has an active rollout ({rollout_id}): promote it or roll it back first",
            details={"rollout": rollout_id},
        )


def rollout_get(*, agent_name: str, rollout_id: int) -> Rollout:
    rollout = (
        Rollout.objects.select_related("agent", "baseline", "canary", "created_by", "ended_by")
        .filter(pk=rollout_id, agent__name=agent_name)
        .first()
    )
    if rollout is None:
        raise NotFound(f"agent {agent_name!r} has no rollout {rollout_id}", field="id")
    return rollout


def rollout_promote(*, rollout: Rollout, actor: User, reason: str = "") -> Rollout:
    """The canary becomes the agent's current version (a draft becomes `current`); new
    sessions all run it."""
    return _rollout_end(rollout, status=Rollout.Status.PROMOTED, actor=actor, reason=reason)


def rollout_roll_back(*, rollout: Rollout, actor: User | None, reason: str = "") -> Rollout:
    """The baseline stays current and new sessions all run it; canary sessions already started
    finish on the canary. `actor` None is the judge."""
    return _rollout_end(rollout, status=Rollout.Status.ROLLED_BACK, actor=actor, reason=reason)


@transaction.atomic
def _rollout_end(rollout: Rollout, *, status: str, actor: User | None, reason: str) -> Rollout:
    reason = reason[:MAX_REASON_CHARS]
    ended = Rollout.objects.filter(pk=rollout.pk, status=Rollout.Status.ACTIVE).update(
        status=status, ended_at=clock.now(), ended_by=actor, ended_reason=reason
    )
    if not ended:
        rollout.refresh_from_db(fields=["status"])
        raise Conflict(f"rollout {rollout.pk} has already ended ({rollout.status})", field="id")
    if status == Rollout.Status.PROMOTED:
        version_make_current(agent=rollout.agent, version=rollout.canary)
    rollout.refresh_from_db()
    audit_record(
        actor=actor,
        action=f"rollout.{status}",
        object_type="rollout",
        object_id=str(rollout.pk),
        before={"status": Rollout.Status.ACTIVE},
        after={**_audited(rollout, agent_name=rollout.agent.name), "reason": reason},
    )
    return rollout


def _check_range(field: str, value: Decimal | int, low: Decimal | int, high: Decimal | int) -> None:
    if not low <= value <= high:
        raise Invalid(f"{field} must be from {low} to {high}", field=field)


def _audited(rollout: Rollout, *, agent_name: str) -> dict[str, Any]:
    return {
        "agent": agent_name,
        "status": rollout.status,
        "baseline": rollout.baseline.number,
        "canary": rollout.canary.number,
        "percent": rollout.percent,
        "failure_rate_multiple": str(rollout.failure_rate_multiple),
        "cost_multiple": str(rollout.cost_multiple),
        "min_tasks": rollout.min_tasks,
    }
