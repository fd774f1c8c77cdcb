"""Deciding action requests: reviewers, the auto-send clock, expiry and escalation.

Every transition locks the request's row and re-checks its status, then updates with the
expected status in the WHERE clause and checks the count: two reviewers, a reviewer and the
clock, or a redelivered Celery message can never move a request twice.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import transaction

from agents.models import Task, Tool
from agents.services.tasks import task_resume
from agents.tools.schema import ToolSchemaError, arguments_errors
from approvals.audit import audit_append
from approvals.external.decided import external_action_decided
from approvals.live import action_request_announce, action_request_publish
from approvals.models import ActionRequest, ActionVote
from approvals.selectors import AUTO_SEND_NOTE, user_may_review
from core import clock
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.tiers import RiskTier
from core.transactions import after_commit
from tracing.metrics import metrics_approval_decided

Status = ActionRequest.Status
Decision = Literal["approve", "reject", "cancel", "done"]
DECISIONS = ("approve", "reject", "cancel", "done")
# The one limit of a person's free text on a request: a decision's comment, an outcome's note,
# wherever it is written (console, REST, e-mail link).
MAX_COMMENT_CHARS = 4000
# PostgreSQL `integer`, the column behind ActionRequest.version.
MAX_VERSION = 2_147_483_647


class StaleVersion(Conflict):
    """A decision about a version of the arguments that is no longer the current one."""

    code = "stale_version"

    def __init__(self, request: ActionRequest, *, seen: int) -> None:
        super().__init__(
            f"you decided on version {seen}, but the request is now at version {request.version} "
            "with other arguments: review them and decide again",
            field="version",
            details={
                "current": {
                    "version": request.version,
                    "arguments": request.arguments,
                    "hash": request.request_hash,
                }
            },
        )


def action_request_decide(
    *,
    action_request: ActionRequest,
    actor: User,
    decision: str,
    comment: str = "",
    arguments: dict[str, Any] | None = None,
    version: int = 1,
) -> ActionRequest:
    """A reviewer's decision about `version` of the request, the one they saw.

    A client that names no version can only have meant the original arguments: version 1.
    A decision about any version but the current one changes nothing (StaleVersion, 409).
    Idempotent per reviewer: the same approval twice counts once.
    """
    if decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}", field="decision")
    if len(comment) > MAX_COMMENT_CHARS:
        raise Invalid(f"comment must be at most {MAX_COMMENT_CHARS} characters", field="comment")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise Invalid(f"version must be an integer from 1 to {MAX_VERSION}", field="version")
    if not user_may_review(user=actor, reviewer_group=action_request.reviewer_group):
        raise Forbidden(f"only reviewers in {action_request.reviewer_group!r} may decide this request")
    if arguments is not None and decision != "approve":
        raise Invalid("arguments can only be edited when approving", field="arguments")
    if decision == "done" and not comment.strip():
        raise Invalid("say what the person did: a note is required", field="comment")
    with transaction.atomic():
        # Race: every decider (reviewers, the auto-send and expiry sweeper) locks this row first.
        request = ActionRequest.objects.select_for_update().select_related("task").get(pk=action_request.pk)
        if decision == "approve":
            request = _approve(request, actor=actor, comment=comment, arguments=arguments, version=version)
        else:
            target = _DECISION_STATUS[decision]
            if decision == "done" and request.tier != RiskTier.CRITICAL:
                raise Conflict("only a critical request is done by a person; approve the others")
            if request.status != Status.PENDING:
                if (
                    request.status == target
                    and request.decided_by_id == actor.pk
                    and version == request.version
                ):
                    return request  # the same decision again (a double click, a retried request)
                raise Conflict(f"this request is already {request.status}")
            # A rejection's comment answers the arguments its reviewer read; a cancel or reject
            # of a version edited since is refused like an approval, so nobody decides blind.
            if version != request.version:
                raise StaleVersion(request, seen=version)
            _transition(request, to=target, actor=actor, comment=comment)
    return request


_DECISION_STATUS = {"reject": Status.REJECTED, "cancel": Status.CANCELLED, "done": Status.DONE}


def _approve(
    request: ActionRequest, *, actor: User, comment: str, arguments: dict[str, Any] | None, version: int
) -> ActionRequest:
    if request.tier == RiskTier.CRITICAL:
        raise Conflict(
            "a critical action is never run by the agent: act outside Tollgate, then close it as done"
        )
    if request.task.owner_id == actor.pk:
        raise Forbidden("you submitted this task; another reviewer must approve its actions")
    if request.status != Status.PENDING:
        voted = ActionVote.objects.filter(request=request, reviewer=actor, version=request.version).exists()
        if voted and version == request.version and arguments in (None, request.arguments):
            return request  # already approved by this reviewer
        raise Conflict(f"this request is already {request.status}")
    # The two-person rule: a vote binds to the arguments its reviewer saw. An approval of an
    # earlier version (or an edit made on top of one) must never count for the current one.
    if version != request.version:
        raise StaleVersion(request, seen=version)
    if arguments is not None and arguments != request.arguments:
        _edit(request, actor=actor, arguments=arguments)
    now = clock.now()
    _, created = ActionVote.objects.get_or_create(
        request=request, reviewer=actor, version=request.version, defaults={"created_at": now}
    )
    if created:
        audit_append(
            actor=actor,
            action="request.vote",
            object_type="action_request",
            object_id=str(request.pk),
            after={"version": request.version, "hash": request.request_hash, "comment": comment},
        )
    votes = ActionVote.objects.filter(request=request, version=request.version).count()
    if votes >= request.approvals_required:
        _transition(request, to=Status.APPROVED, actor=actor, comment=comment)
    else:
        action_request_publish(request_id=request.pk, event="changed")
    return request


def _edit(request: ActionRequest, *, actor: User, arguments: dict[str, Any]) -> None:
    from approvals.gate import action_request_hash, canonical_arguments

    if not isinstance(arguments, dict):
        raise Invalid("arguments must be a JSON object", field="arguments")
    tool = Tool.objects.filter(name=request.tool_name).first()
    if tool is None:
        raise Conflict(f"the tool {request.tool_name!r} no longer exists")
    try:
        errors = arguments_errors(tool.parameters, arguments)
    except ToolSchemaError as exc:
        raise Conflict(f"{tool.name} cannot be called: {exc}") from exc
    if errors:
        raise Invalid("invalid arguments: " + "; ".join(errors), field="arguments")
    before = {"version": request.version, "arguments": request.arguments, "hash": request.request_hash}
    # Approvals given to the earlier version no longer count: they approved other arguments.
    request.arguments = canonical_arguments(arguments)
    request.version += 1
    request.request_hash = action_request_hash(request)
    ActionRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
        arguments=request.arguments, version=request.version, request_hash=request.request_hash
    )
    audit_append(
        actor=actor,
        action="request.arguments_edited",
        object_type="action_request",
        object_id=str(request.pk),
        before=before,
        after={
            "version": request.version,
            "arguments": request.arguments,
            "hash": request.request_hash,
            "diff": arguments_diff(before["arguments"], request.arguments),
        },
    )


def arguments_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(set(before) | set(after))
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    }


def _transition(
    request: ActionRequest,
    *,
    to: str,
    actor: User | None,
    comment: str,
    now: datetime | None = None,
) -> None:
    now = now or clock.now()
    moved = ActionRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
        status=to, decided_by=actor, decided_at=now, decision_comment=comment
    )
    if not moved:
        raise Conflict("this request was decided meanwhile")
    request.status, request.decided_by, request.decided_at, request.decision_comment = to, actor, now, comment
    audit_append(
        actor=actor,
        action=f"request.{to}",
        object_type="action_request",
        object_id=str(request.pk),
        before={"status": Status.PENDING},
        after={"status": to, "version": request.version, "hash": request.request_hash, "comment": comment},
    )
    if request.tier != RiskTier.CRITICAL:
        task_resume(task_id=request.task_id)
    action_request_publish(request_id=request.pk, event="decided")
    # An agent that runs elsewhere waits on this request through the gate API: tell it.
    after_commit(external_action_decided, request_id=request.pk)
    after_commit(
        metrics_approval_decided,
        tier=str(request.tier),
        outcome=to,
        seconds=(now - request.created_at).total_seconds(),
    )


def action_request_timeout(*, request_id: uuid.UUID) -> str | None:
    """Apply a request's clock if it is due: medium auto-sends, high expires. Safe to run twice."""
    now = clock.now()
    with transaction.atomic():
        # Race: the same lock as a reviewer's decision, so a cancel and the auto-send never both win.
        request = ActionRequest.objects.select_for_update(skip_locked=True).filter(pk=request_id).first()
        if request is None or request.status != Status.PENDING:
            return None
        if request.autosend_at is not None and request.autosend_at <= now:
            _transition(request, to=Status.APPROVED, actor=None, comment=AUTO_SEND_NOTE, now=now)
            return Status.APPROVED
        if request.expires_at is not None and request.expires_at <= now:
            _transition(request, to=Status.EXPIRED, actor=None, comment="expired undecided", now=now)
            return Status.EXPIRED
    return None


def action_request_timeout_schedule(*, request: ActionRequest) -> None:
    """A Celery ETA message for the deadline: the fast path. The beat sweeper is the durable one."""
    due = request.autosend_at or request.expires_at
    if due is None:
        return

    def schedule() -> None:
        from approvals.tasks import action_request_due

        action_request_due.apply_async(args=[str(request.id)], eta=due)

    transaction.on_commit(schedule, robust=True)


def action_requests_sweep() -> dict[str, int]:
    """Beat: apply due deadlines, escalate past-SLA requests, close requests of ended tasks."""
    now = clock.now()
    pending = ActionRequest.objects.filter(status=Status.PENDING)
    due = list(pending.filter(autosend_at__lte=now).values_list("pk", flat=True)[:500]) + list(
        pending.filter(expires_at__lte=now).values_list("pk", flat=True)[:500]
    )
    counts = {"approved": 0, "expired": 0, "escalated": 0, "closed": 0}
    for request_id in due:
        outcome = action_request_timeout(request_id=request_id)
        if outcome:
            counts[outcome] += 1
    for request_id in pending.filter(sla_at__lte=now, escalated_at__isnull=True).values_list("pk", flat=True)[
        :500
    ]:
        counts["escalated"] += action_request_escalate(request_id=request_id)
    orphans = pending.filter(task__status__in=Task.FINAL_STATUSES).exclude(tier=RiskTier.CRITICAL)
    for request_id in orphans.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            request = ActionRequest.objects.select_for_update(skip_locked=True).filter(pk=request_id).first()
            if request is not None and request.status == Status.PENDING:
                _transition(request, to=Status.CANCELLED, actor=None, comment="its task ended")
                counts["closed"] += 1
    return counts


def action_request_escalate(*, request_id: uuid.UUID) -> int:
    """Flag a request pending past its SLA once; the listeners (notifications) hear "escalated"."""
    with transaction.atomic():
        flagged = ActionRequest.objects.filter(
            pk=request_id, status=Status.PENDING, escalated_at__isnull=True
        ).update(escalated_at=clock.now())
        if flagged:
            audit_append(
                actor=None,
                action="request.escalated",
                object_type="action_request",
                object_id=str(request_id),
            )
            action_request_publish(request_id=request_id, event="changed")
            action_request_announce(request_id=request_id, event="escalated")
    return flagged


def action_request_get(*, request_id: uuid.UUID) -> ActionRequest:
    request = ActionRequest.objects.select_related("task").filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"no action request {request_id}")
    return request
