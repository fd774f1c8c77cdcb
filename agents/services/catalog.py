"""Registering and editing tools and agents (each agent edit is a new AgentVersion); every
change is audited (core.audit_log)."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Case, Max, Value, When

from agents.models import Agent, AgentVersion, Tool
from agents.models.tool import InjectionAction, Trust
from agents.providers.admission import model_refusal
from agents.rollouts.services import rollout_active_id, rollout_none_active
from agents.services.serving import version_make_current
from agents.services.version_checks import version_checker, version_not_serving
from agents.tools.compensation import compensation_check
from agents.tools.egress import egress_url_refusal
from agents.tools.schema import tool_parameters_check
from core.audit_log import audit_record
from core.errors import Conflict, Invalid, NotFound

# What a version holds besides its tools; an edit changes any of these and copies the rest.
VERSION_FIELDS = (
    "system_prompt",
    "model",
    "fallback_model",
    "max_tokens",
    "max_cost_usd",
    "max_tool_calls",
    "max_iterations",
    "max_seconds",
    "loop_threshold",
    "loop_window",
    "repeat_limit",
    "input_trust",
)


class AgentConfig(TypedDict, total=False):
    system_prompt: str
    model: str
    fallback_model: str
    max_tokens: int
    max_cost_usd: Decimal
    max_tool_calls: int
    max_iterations: int
    max_seconds: int
    loop_threshold: float
    loop_window: int
    repeat_limit: int
    input_trust: str


# What an admin may change on a registered HTTP tool; its tier is the risk policy's (approvals).
TOOL_EDITABLE = ("description", "parameters", "url", "method", "timeout_s")
# How any tool's results are treated (docs/injection.md), a Python tool's included.
TOOL_TRUST_FIELDS = ("trust", "injection_action")
# What reverses any tool's effect (docs/undo.md): a tool's name (or None) and the mapping.
TOOL_COMPENSATION_FIELDS = ("compensation", "compensation_arguments")


def tool_create(
    *,
    actor: User,
    name: str,
    url: str,
    risk_tier: str,
    description: str = "",
    parameters: dict[str, Any] | None = None,
    method: str = Tool.Method.POST,
    timeout_s: float = 10.0,
    trust: str = Trust.UNTRUSTED,
    injection_action: str = InjectionAction.FLAG,
    honours_idempotency_key: bool = False,
    compensation: str | None = None,
    compensation_arguments: dict[str, Any] | None = None,
) -> Tool:
    """Register an HTTP tool. Raises Invalid for a bad field, Conflict if the name is taken."""
    tool = Tool(
        name=name,
        description=description,
        parameters=parameters or {},
        kind=Tool.Kind.HTTP,
        url=url,
        method=method,
        timeout_s=timeout_s,
        honours_idempotency_key=honours_idempotency_key,
        risk_tier=risk_tier,
        trust=trust,
        injection_action=injection_action,
        compensation=_compensation_named(compensation),
        compensation_arguments=compensation_arguments or {},
    )
    _check_tool(tool)
    compensation_check(tool)
    try:
        # The unique name, not a prior lookup, decides between two registrations racing.
        with transaction.atomic():
            tool.save()
            audit_record(
                actor=actor,
                action="tool.created",
                object_type="tool",
                object_id=name,
                after=_tool_audited(tool),
            )
    except IntegrityError as exc:
        raise Conflict(f"a tool named {name!r} already exists", field="name") from exc
    return tool


@transaction.atomic
def tool_update(*, actor: User, name: str, **changes: Any) -> Tool:
    """Change an HTTP tool's description, schema, URL, method or timeout, or any tool's trust,
    injection action and compensation (a tool's name, or None); calls from now on use them."""
    unknown = set(changes) - set(TOOL_EDITABLE) - set(TOOL_TRUST_FIELDS) - set(TOOL_COMPENSATION_FIELDS)
    if unknown:
        raise Invalid(f"{', '.join(sorted(unknown))} cannot be changed here", field=sorted(unknown)[0])
    if not changes:
        raise Invalid("nothing to update: send at least one field")
    tool = _tool_locked(name)
    defined_in_code = sorted(set(changes) & set(TOOL_EDITABLE))
    if tool.kind != Tool.Kind.HTTP and defined_in_code:
        raise Conflict(f"{name!r} is a Python tool: its code defines it", field=defined_in_code[0])
    before = _tool_audited(tool)
    if "compensation" in changes:
        changes["compensation"] = _compensation_named(changes["compensation"])
        if changes["compensation"] is None and "compensation_arguments" not in changes:
            changes["compensation_arguments"] = {}  # nothing left to fill in
    for field, value in changes.items():
        setattr(tool, field, value)
    if tool.kind == Tool.Kind.HTTP:
        _check_tool(tool)
    else:
        _clean(tool, exclude=["parameters", "url", "compensation", "compensation_arguments"])
    compensation_check(tool)
    tool.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action="tool.updated",
        object_type="tool",
        object_id=name,
        before=before,
        after=_tool_audited(tool),
    )
    return tool


@transaction.atomic
def tool_delete(*, actor: User, name: str) -> None:
    """Delete an HTTP tool that no agent version lists (a version is history: it stays whole)."""
    tool = _tool_locked(name)
    if tool.kind != Tool.Kind.HTTP:
        raise Conflict(f"{name!r} is a Python tool: its code defines it", field="name")
    users = sorted(set(tool.agent_versions.values_list("agent__name", flat=True)))
    if users:
        raise Conflict(f"agents list this tool in a version: {', '.join(users[:10])}", field="name")
    reversed_tools = sorted(tool.compensates.values_list("name", flat=True)[:10])
    if reversed_tools:
        raise Conflict(f"it is the compensation of {', '.join(reversed_tools)}", field="name")
    before = _tool_audited(tool)
    tool.delete()
    audit_record(actor=actor, action="tool.deleted", object_type="tool", object_id=name, before=before)


def _check_tool(tool: Tool) -> None:
    problems = tool_parameters_check(tool.parameters)
    if problems:
        raise Invalid("; ".join(problems[:5]), field="parameters")
    try:
        URLValidator(schemes=["http", "https"])(tool.url)
    except ValidationError as exc:
        raise Invalid("url must be an absolute http(s) URL", field="url") from exc
    # Only a literal address can be judged now; every call checks where a name resolves then.
    refusal = egress_url_refusal(tool.url)
    if refusal is not None:
        raise Invalid(f"url: {refusal.message}", field="url")
    # `parameters` was checked above; full_clean would call an empty schema "blank";
    # the compensation by compensation_check.
    _clean(tool, exclude=["parameters", "compensation", "compensation_arguments"])


def _compensation_named(name: str | None) -> Tool | None:
    if name is None:
        return None
    # Locked until the change commits, so a tool_delete of the compensation waits for it.
    compensation = Tool.objects.select_for_update(no_key=True).filter(name=name).first()
    if compensation is None:
        raise Invalid(f"no tool named {name!r}", field="compensation")
    return compensation


def _tool_locked(name: str) -> Tool:
    tool = Tool.objects.select_for_update().filter(name=name).first()
    if tool is None:
        raise NotFound(f"no tool named {name!r}", field="name")
    return tool


def _tool_audited(tool: Tool) -> dict[str, Any]:
    audited = {field: getattr(tool, field) for field in ("risk_tier", *TOOL_EDITABLE, *TOOL_TRUST_FIELDS)}
    audited["compensation"] = tool.compensation.name if tool.compensation else None
    audited["compensation_arguments"] = tool.compensation_arguments
    return audited


@transaction.atomic
def agent_create(
    *,
    actor: User,
    name: str,
    tools: Sequence[str] = (),
    **config: Unpack[AgentConfig],
) -> AgentVersion:
    """Create an agent and its version 1. Raises Invalid, or Conflict if the name is taken."""
    _clean(Agent(name=name), exclude=["current_version"])
    version = AgentVersion(number=1, created_by=actor, **config)
    _check_version(version)
    tool_rows = _tools_named(tools)
    try:
        with transaction.atomic():
            agent = Agent.objects.create(name=name)
    except IntegrityError as exc:
        raise Conflict(f"an agent named {name!r} already exists", field="name") from exc
    version.agent = agent
    version.save()
    version.tools.set(tool_rows)
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    audit_record(
        actor=actor,
        action="agent.created",
        object_type="agent",
        object_id=name,
        after=_version_audited(version),
    )
    return version


@transaction.atomic
def agent_update(
    *,
    actor: User,
    name: str,
    tools: Sequence[str] | None = None,
    **changes: Unpack[AgentConfig],
) -> AgentVersion:
    """Add a version with `changes` applied to the current one and make it current.

    Sessions keep the version they began with; only new sessions use the new one. When the agent
    has required checks (eval suites marked required), the version is a `candidate` instead:
    the current version stays, the checks start, and agent_version_decide makes it current or
    rejects it once they end. Refused while a rollout of the agent is active (its baseline must
    stay current until it ends).
    """
    return _version_add(actor=actor, name=name, tools=tools, changes=changes, draft=False)


@transaction.atomic
def agent_draft_create(
    *,
    actor: User,
    name: str,
    tools: Sequence[str] | None = None,
    **changes: Unpack[AgentConfig],
) -> AgentVersion:
    """Add a version with `changes` applied to the current one as a `draft`: no new session
    runs it until a rollout makes it its canary (promoting the rollout makes it current) or a
    rollback makes it current. With required checks it is a `candidate` first, exactly as an
    edit's version is, and passing them makes it a draft, not current. Allowed while a rollout
    is active: it changes no version that serves.
    """
    return _version_add(actor=actor, name=name, tools=tools, changes=changes, draft=True)


def _version_add(
    *,
    actor: User,
    name: str,
    tools: Sequence[str] | None,
    changes: AgentConfig,
    draft: bool,
) -> AgentVersion:
    if tools is None and not changes:
        raise Invalid("nothing to update: send at least one field")
    # Row lock: two new versions at once would otherwise both claim the same next number.
    agent, current_id = _agent_locked(name)
    if not draft:
        rollout_none_active(agent)
    current = AgentVersion.objects.get(pk=current_id)
    # After a rollback the current version is not the newest, so count from the newest.
    newest = agent.versions.aggregate(newest=Max("number"))["newest"]
    values = {field: getattr(current, field) for field in VERSION_FIELDS} | dict(changes)
    checker = version_checker()
    checked = checker.required(agent=agent)
    if checked:
        status = AgentVersion.Status.CANDIDATE
    else:
        status = AgentVersion.Status.DRAFT if draft else AgentVersion.Status.CURRENT
    version = AgentVersion(
        agent=agent, number=newest + 1, created_by=actor, status=status, created_as_draft=draft, **values
    )
    _check_version(version)
    tool_rows = _tools_named(tools) if tools is not None else list(current.tools.all())
    version.save()
    version.tools.set(tool_rows)
    if checked:
        checker.start(version=version, actor=actor)
        # Checks with nothing to run (required suites without cases) decide at once.
        version.refresh_from_db(fields=["status"])
        agent.refresh_from_db(fields=["current_version"])
    elif not draft:
        version_make_current(agent=agent, version=version)
    action = "agent.draft_created" if draft else ("agent.candidate_created" if checked else "agent.updated")
    audit_record(
        actor=actor,
        action=action,
        object_type="agent",
        object_id=name,
        before=_version_audited(current),
        after=_version_audited(version),
    )
    return version


# The audit action of a candidate's decision, by the status it decided.
_DECISION_ACTIONS: dict[str, str] = {
    AgentVersion.Status.CURRENT: "agent.candidate_promoted",
    AgentVersion.Status.DRAFT: "agent.draft_passed",
    AgentVersion.Status.REJECTED: "agent.candidate_rejected",
}


def agent_version_decide(*, version_id: int, passed: bool, actor: User | None, detail: str = "") -> bool:
    """A candidate's checks ended: make it current (passed), a draft (passed, created as a
    draft, or passed while the agent has an active rollout, whose baseline must stay current
    until it ends) or rejected. Returns whether this call decided it; a conditional update, so
    two deciders at once decide once, and a version decided meanwhile (or no longer a candidate)
    is left as it is. Audited.

    Call inside a transaction that holds the version row locked (the checker re-reads the
    outcome of its checks under that lock, so two checks ending at once cannot both see the
    other still running)."""
    with transaction.atomic():
        locked, rollout_id = None, None
        if passed:
            # The agent's row first: a rollout starting meanwhile waits for this decision, or
            # this one sees it (rollout_start takes the same lock).
            locked = (
                Agent.objects.select_for_update(of=("self",))
                .select_related("current_version")
                .filter(versions=version_id)
                .first()
            )
            if locked is None:
                return False
            rollout_id = rollout_active_id(locked.pk)
        passed_as = (
            Value(AgentVersion.Status.DRAFT)
            if rollout_id is not None
            else Case(
                When(created_as_draft=True, then=Value(AgentVersion.Status.DRAFT)),
                default=Value(AgentVersion.Status.CURRENT),
            )
        )
        changed = AgentVersion.objects.filter(pk=version_id, status=AgentVersion.Status.CANDIDATE).update(
            status=passed_as if passed else AgentVersion.Status.REJECTED
        )
        if not changed:
            return False
        version = AgentVersion.objects.select_related("agent").get(pk=version_id)
        agent = locked or version.agent
        target = version.status
        before = None
        if target == AgentVersion.Status.CURRENT:
            if agent.current_version is not None:
                before = {"version": agent.current_version.number}
            version_make_current(agent=agent, version=version)
        if rollout_id is not None:
            detail = f"passed during rollout {rollout_id}: a draft until a rollout or rollback serves it"
        audit_record(
            actor=actor,
            action=_DECISION_ACTIONS[target],
            object_type="agent",
            object_id=agent.name,
            before=before,
            after={"version": version.number, "status": target, "detail": detail[:2000]},
        )
    return True


@transaction.atomic
def agent_rollback(*, actor: User, name: str, number: int) -> AgentVersion:
    """Make an older version (or a draft) current again. New sessions use it; running ones
    keep theirs.

    No version is created: the next edit still counts from the newest number. A draft becomes
    `current` (made current once).
    """
    agent, current_id = _agent_locked(name)
    rollout_none_active(agent)
    target = AgentVersion.objects.filter(agent=agent, number=number).first()
    if target is None:
        raise NotFound(f"agent {name!r} has no version {number}", field="version")
    current = AgentVersion.objects.only("number").get(pk=current_id)
    if target.pk == current.pk:
        raise Conflict(f"version {number} is already current", field="version")
    refusal = version_not_serving(target, field="version", use="be current")
    if refusal is not None:
        raise refusal
    version_make_current(agent=agent, version=target)
    audit_record(
        actor=actor,
        action="agent.rolled_back",
        object_type="agent",
        object_id=name,
        before={"version": current.number},
        after={"version": target.number},
    )
    target.agent = agent
    return target


def _agent_locked(name: str) -> tuple[Agent, int]:
    """The agent, row-locked, and its current version's id."""
    agent = Agent.objects.select_for_update().filter(name=name).first()
    if agent is None or agent.current_version_id is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    return agent, agent.current_version_id


def _version_audited(version: AgentVersion) -> dict[str, Any]:
    values = {field: getattr(version, field) for field in VERSION_FIELDS}
    return {"version": version.number, **values, "tools": sorted(tool.name for tool in version.tools.all())}


def _check_version(version: AgentVersion) -> None:
    # created_by is the acting user, already known to exist; checking it would cost a query.
    _clean(version, exclude=["agent", "created_by"])
    _check_model(version.model, field="model")
    if version.fallback_model:
        _check_model(version.fallback_model, field="fallback_model")


def _check_model(model: str, *, field: str) -> None:
    refusal = model_refusal(model)
    if refusal is not None:
        raise Invalid(f"{field}: {refusal}", field=field)


def _tools_named(names: Sequence[str]) -> list[Tool]:
    wanted = set(names)
    # Locked until the version is saved, so a tool_delete racing this edit waits (or is waited
    # for) instead of leaving the version pointing at a deleted tool. NO KEY UPDATE conflicts
    # with the delete's FOR UPDATE; ordered by id so two edits lock in the same order.
    found = list(Tool.objects.select_for_update(no_key=True).filter(name__in=wanted).order_by("id"))
    missing = wanted - {tool.name for tool in found}
    if missing:
        raise Invalid(f"no tools named {', '.join(sorted(missing))}", field="tools")
    return found


def _clean(instance: models.Model, *, exclude: list[str]) -> None:
    """The model's own field rules (lengths, ranges, choices, patterns) as an Invalid."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise Invalid(f"{field}: {' '.join(messages)}", field=field) from exc
