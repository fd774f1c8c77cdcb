"""Creating and editing eval suites and their cases (admins); every change is audited."""

import json
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from agents.models import Agent, Task
from agents.runtime.playback import playback_validate
from core.audit_log import audit_record
from core.errors import Conflict, Invalid, NotFound
from evals.checks.specs import checks_validate
from evals.limits import (
    MAX_CASES_PER_SUITE,
    MAX_DESCRIPTION_CHARS,
    MAX_FIXTURES_CHARS,
    MAX_FIXTURES_PER_CASE,
    MAX_INPUT_CHARS,
    MAX_LIVE_TOOLS,
    MAX_NAME_CHARS,
    MAX_SUITES_PER_AGENT,
)
from evals.models import EvalCase, EvalSuite
from evals.services.versions import agent_decisions_lock, candidates_decide

SUITE_FIELDS = ("name", "description", "required")
CASE_FIELDS = ("name", "input", "fixtures", "live_tools", "checks")


@transaction.atomic
def suite_create(
    *, actor: User, agent_name: str, name: str, description: str = "", required: bool = False
) -> EvalSuite:
    # Locked: two creations at once cannot both pass the per-agent count.
    agent = Agent.objects.select_for_update().filter(name=agent_name).first()
    if agent is None:
        raise NotFound(f"no agent named {agent_name!r}", field="agent")
    if EvalSuite.objects.filter(agent=agent).count() >= MAX_SUITES_PER_AGENT:
        raise Conflict(f"agent {agent_name!r} already has {MAX_SUITES_PER_AGENT} suites", field="agent")
    suite = EvalSuite(agent=agent, created_by=actor)
    _suite_set(suite, {"name": name, "description": description, "required": required})
    try:
        with transaction.atomic():
            suite.save()
    except IntegrityError as exc:
        raise Conflict(f"agent {agent_name!r} already has a suite named {name!r}", field="name") from exc
    audit_record(
        actor=actor,
        action="eval_suite.created",
        object_type="eval_suite",
        object_id=str(suite.pk),
        after=_suite_audited(suite),
    )
    return suite


@transaction.atomic
def suite_update(*, actor: User, suite_id: int, **changes: Any) -> EvalSuite:
    unknown = set(changes) - set(SUITE_FIELDS)
    if unknown:
        raise Invalid(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    if not changes:
        raise Invalid("nothing to update: send at least one field")
    suite = _suite_locked(suite_id)
    before = _suite_audited(suite)
    _suite_set(suite, changes)
    try:
        with transaction.atomic():
            suite.save()
    except IntegrityError as exc:
        raise Conflict(f"the agent already has a suite named {suite.name!r}", field="name") from exc
    if suite.required != before["required"]:
        # The agent's candidates wait on other suites now; see whether they are decided. Before
        # the audit entry: a run's decision locks the version and then the audit chain, and
        # this takes them in the same order (the other order deadlocks with it).
        candidates_decide(agent_id=suite.agent_id, actor=actor)
    audit_record(
        actor=actor,
        action="eval_suite.updated",
        object_type="eval_suite",
        object_id=str(suite.pk),
        before=before,
        after=_suite_audited(suite),
    )
    return suite


@transaction.atomic
def suite_delete(*, actor: User, suite_id: int) -> None:
    suite = _suite_locked(suite_id)
    before = _suite_audited(suite)
    suite.delete()
    if before["required"]:
        # A candidate waiting on this suite's run alone would otherwise wait forever. Before
        # the audit entry, in the lock order of a run's decision (suite_update).
        candidates_decide(agent_id=suite.agent_id, actor=actor)
    audit_record(
        actor=actor,
        action="eval_suite.deleted",
        object_type="eval_suite",
        object_id=str(suite_id),
        before=before,
    )


@transaction.atomic
def case_create(
    *,
    actor: User,
    suite_id: int,
    name: str,
    input: str,
    fixtures: list[Any] | None = None,
    live_tools: list[Any] | None = None,
    checks: list[Any] | None = None,
    source_task: Task | None = None,
) -> EvalCase:
    suite = _suite_locked(suite_id)
    if suite.cases.count() >= MAX_CASES_PER_SUITE:
        raise Conflict(f"the suite already has {MAX_CASES_PER_SUITE} cases", field="suite")
    case = EvalCase(suite=suite, created_by=actor, source_task=source_task)
    _case_set(
        case,
        {
            "name": name,
            "input": input,
            "fixtures": fixtures or [],
            "live_tools": live_tools or [],
            "checks": checks or [],
        },
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:
        raise Conflict(f"the suite already has a case named {name!r}", field="name") from exc
    audit_record(
        actor=actor,
        action="eval_case.created",
        object_type="eval_case",
        object_id=str(case.pk),
        after=_case_audited(case),
    )
    return case


@transaction.atomic
def case_update(*, actor: User, case_id: int, **changes: Any) -> EvalCase:
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise Invalid(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
    if not changes:
        raise Invalid("nothing to update: send at least one field")
    case = _case_locked(case_id)
    before = _case_audited(case)
    _case_set(case, changes)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as exc:
        raise Conflict(f"the suite already has a case named {case.name!r}", field="name") from exc
    audit_record(
        actor=actor,
        action="eval_case.updated",
        object_type="eval_case",
        object_id=str(case.pk),
        before=before,
        after=_case_audited(case),
    )
    return case


@transaction.atomic
def case_delete(*, actor: User, case_id: int) -> None:
    case = _case_locked(case_id)
    before = _case_audited(case)
    case.delete()
    audit_record(
        actor=actor,
        action="eval_case.deleted",
        object_type="eval_case",
        object_id=str(case_id),
        before=before,
    )


def _case_locked(case_id: int) -> EvalCase:
    case = EvalCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"no eval case {case_id}", field="case")
    return case


def _case_audited(case: EvalCase) -> dict[str, Any]:
    # What decides a run (a required suite's cases gate new versions), not the whole input.
    return {
        "suite": case.suite_id,
        "name": case.name,
        "checks": case.checks,
        "live_tools": case.live_tools,
        "fixtures": len(case.fixtures),
        "input_chars": len(case.input),
    }


def _suite_set(suite: EvalSuite, values: dict[str, Any]) -> None:
    if "name" in values:
        suite.name = _name(values["name"])
    if "description" in values:
        description = values["description"]
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
            raise Invalid(
                f"description must be at most {MAX_DESCRIPTION_CHARS} characters", field="description"
            )
        suite.description = description
    if "required" in values:
        if not isinstance(values["required"], bool):
            raise Invalid("required must be true or false", field="required")
        suite.required = values["required"]


def _case_set(case: EvalCase, values: dict[str, Any]) -> None:
    if "name" in values:
        case.name = _name(values["name"])
    if "input" in values:
        text = values["input"]
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT_CHARS:
            raise Invalid(
                f"input must be non-empty text of at most {MAX_INPUT_CHARS} characters", field="input"
            )
        case.input = text
    if "checks" in values:
        case.checks = checks_validate(values["checks"])
    if "fixtures" in values or "live_tools" in values:
        fixtures = values.get("fixtures", case.fixtures)
        live_tools = values.get("live_tools", case.live_tools)
        case.fixtures, case.live_tools = fixtures_validate(fixtures, live_tools)


def fixtures_validate(fixtures: Any, live_tools: Any) -> tuple[list[Any], list[str]]:
    """Within the case's bounds and in the playback `tool_results` / `live_tools` shape."""
    if not isinstance(fixtures, list) or len(fixtures) > MAX_FIXTURES_PER_CASE:
        raise Invalid(f"fixtures must be a list of at most {MAX_FIXTURES_PER_CASE} results", field="fixtures")
    if len(json.dumps(fixtures, default=str)) > MAX_FIXTURES_CHARS:
        raise Invalid(f"fixtures are over {MAX_FIXTURES_CHARS} characters as JSON", field="fixtures")
    if not isinstance(live_tools, list) or len(live_tools) > MAX_LIVE_TOOLS:
        raise Invalid(f"live_tools must be a list of at most {MAX_LIVE_TOOLS} tool names", field="live_tools")
    try:
        playback_validate({"tool_results": fixtures, "live_tools": live_tools})
    except Invalid as exc:
        field = "live_tools" if (exc.field or "").startswith("playback.live_tools") else "fixtures"
        raise Invalid(exc.message.replace("tool_results", "fixtures"), field=field) from exc
    return fixtures, live_tools


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise Invalid(f"name must be non-empty text of at most {MAX_NAME_CHARS} characters", field="name")
    return name.strip()


def _suite_locked(suite_id: int) -> EvalSuite:
    # The agent's decisions lock first (evals/services/versions.py), then the suite's row alone:
    # its default ordering joins the agent, whose row a candidate's decision locks later.
    agent_id = EvalSuite.objects.filter(pk=suite_id).values_list("agent_id", flat=True).first()
    if agent_id is None:
        raise NotFound(f"no eval suite {suite_id}", field="suite")
    agent_decisions_lock(agent_id)
    suite = EvalSuite.objects.select_for_update(of=("self",)).filter(pk=suite_id).first()
    if suite is None:
        raise NotFound(f"no eval suite {suite_id}", field="suite")
    return suite


def _suite_audited(suite: EvalSuite) -> dict[str, Any]:
    return {"agent": suite.agent.name, **{field: getattr(suite, field) for field in SUITE_FIELDS}}
