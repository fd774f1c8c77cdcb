"""The risk policy, for admins: rules (GET/POST /policy/rules, GET/PATCH/DELETE /policy/rules/{id})
and tool tiers (GET /policy/tools, PUT /policy/tools/{name})."""

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router
from ninja.responses import Status
from pydantic import Field

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut, ToolName
from agents.models import Tool
from agents.selectors import tool_get, user_is_admin
from approvals.api.schemas import RuleIn, RuleOut, RulePatch, ToolTierIn, ToolTierOut
from approvals.models import PolicyRule
from approvals.policy.evaluate import policy_current_version
from approvals.policy.services import (
    policy_rule_create,
    policy_rule_delete,
    policy_rule_update,
    rule_as_dict,
    tool_tier_set,
)
from core.errors import Forbidden, NotFound

router = Router(tags=["policy"])
RuleId = Path[Annotated[int, Field(ge=1, le=2**63 - 1)]]


def _admin(request: HttpRequest) -> Any:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may read or change the risk policy")
    return user


def _out(rule: PolicyRule) -> dict[str, Any]:
    return {**rule_as_dict(rule), "policy_version": policy_current_version()}


@router.get("/rules", response={200: list[RuleOut], READ_ERRORS: ErrorOut}, summary="The rules (admin)")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    version = policy_current_version()
    return [{**rule_as_dict(rule), "policy_version": version} for rule in PolicyRule.objects.all()]


@router.get("/rules/{rule_id}", response={200: RuleOut, READ_ERRORS: ErrorOut}, summary="One rule (admin)")
def get_rule(request: HttpRequest, rule_id: RuleId) -> dict[str, Any]:
    _admin(request)
    rule = PolicyRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"no rule {rule_id}", field="id")
    return _out(rule)


@router.post("/rules", response={201: RuleOut, WRITE_ERRORS: ErrorOut}, summary="Add a rule (admin)")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    rule = policy_rule_create(actor=_admin(request), **payload.model_dump())
    return Status(201, _out(rule))


@router.patch("/rules/{rule_id}", response={200: RuleOut, WRITE_ERRORS: ErrorOut}, summary="Change a rule")
def update_rule(request: HttpRequest, rule_id: RuleId, payload: RulePatch) -> dict[str, Any]:
    changes = payload.model_dump(exclude_unset=True)
    rule = policy_rule_update(actor=_admin(request), rule_id=rule_id, **changes)
    return _out(rule)


@router.delete("/rules/{rule_id}", response={204: None, WRITE_ERRORS: ErrorOut}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: RuleId) -> Status[None]:
    policy_rule_delete(actor=_admin(request), rule_id=rule_id)
    return Status(204, None)


@router.get(
    "/tools",
    response={200: list[ToolTierOut], READ_ERRORS: ErrorOut},
    summary="Every tool's risk tier, by name (admin); rules may raise or lower it per call",
)
def list_tool_tiers(request: HttpRequest) -> list[dict[str, Any]]:
    _admin(request)
    version = policy_current_version()
    tools = Tool.objects.order_by("name").values_list("name", "risk_tier")
    return [{"tool": name, "risk_tier": tier, "policy_version": version} for name, tier in tools]


@router.put(
    "/tools/{name}",
    response={200: ToolTierOut, WRITE_ERRORS: ErrorOut},
    summary="Set a tool's risk tier (admin): a new policy version, audited, used by the next call",
)
def set_tool_tier(request: HttpRequest, name: Path[ToolName], payload: ToolTierIn) -> dict[str, Any]:
    tool = tool_tier_set(actor=_admin(request), tool=tool_get(name=name), tier=payload.risk_tier)
    return {"tool": tool.name, "risk_tier": tool.risk_tier, "policy_version": policy_current_version()}
