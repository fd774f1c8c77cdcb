"""Registering tools and agents, and editing agents (each edit is a new AgentVersion)."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Max

from agents.models import Agent, AgentVersion, Tool
from agents.providers.admission import model_refusal
from agents.tools.egress import egress_url_refusal
from agents.tools.schema import tool_parameters_check
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


def tool_create(
    *,
    name: str,
    url: str,
    risk_tier: str,
    description: str = "",
    parameters: dict[str, Any] | None = None,
    method: str = Tool.Method.POST,
    timeout_s: float = 10.0,
) -> Tool:
    """Register an HTTP tool. Raises Invalid for a bad field, Conflict if the name is taken."""
    parameters = parameters or {}
    problems = tool_parameters_check(parameters)
    if problems:
        raise Invalid("; ".join(problems[:5]), field="parameters")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise Invalid("url must be an absolute http(s) URL", field="url") from exc
    # Only a literal address can be judged now; every call checks where a name resolves then.
    refusal = egress_url_refusal(url)
    if refusal is not None:
        raise Invalid(f"url: {refusal.message}", field="url")
    tool = Tool(
        name=name,
        description=description,
        parameters=parameters,
        kind=Tool.Kind.HTTP,
        url=url,
        method=method,
        timeout_s=timeout_s,
        risk_tier=risk_tier,
    )
    # `parameters` was checked above; full_clean would call an empty schema "blank".
    _clean(tool, exclude=["parameters"])
    try:
        # The unique name, not a prior lookup, decides between two registrations racing.
        with transaction.atomic():
            tool.save()
    except IntegrityError as exc:
        raise Conflict(f"a tool named {name!r} already exists", field="name") from exc
    return tool


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

    Sessions keep the version they began with; only new sessions use the new one.
    """
    if tools is None and not changes:
        raise Invalid("nothing to update: send at least one field")
    # Row lock: two edits at once would otherwise both claim the same next version number.
    agent = Agent.objects.select_for_update().filter(name=name).first()
    if agent is None or agent.current_version_id is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    current = AgentVersion.objects.get(pk=agent.current_version_id)
    # After a rollback the current version is not the newest, so count from the newest.
    newest = agent.versions.aggregate(newest=Max("number"))["newest"]
    values = {field: getattr(current, field) for field in VERSION_FIELDS} | dict(changes)
    version = AgentVersion(agent=agent, number=newest + 1, created_by=actor, **values)
    _check_version(version)
    tool_rows = _tools_named(tools) if tools is not None else list(current.tools.all())
    version.save()
    version.tools.set(tool_rows)
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    return version


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
    found = list(Tool.objects.filter(name__in=wanted))
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
