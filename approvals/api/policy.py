"""GET/POST /policy/rules, PATCH/DELETE /policy/rules/{id}: admins edit the risk policy."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from agents.api import request_user
from agents.api.schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from agents.selectors import user_is_admin
from approvals.api.schemas import RuleIn, RuleOut, RulePatch
from approvals.models import PolicyRule
from approvals.policy.evaluate import policy_current_version
from approvals.policy.services import (
    policy_rule_create,
    policy_rule_delete,
    policy_rule_update,
    rule_as_dict,
)
from core.errors import Forbidden

router = Router(tags=["policy"])


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


@router.post("/rules", response={201: RuleOut, WRITE_ERRORS: ErrorOut}, summary="Add a rule (admin)")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    rule = policy_rule_create(actor=_admin(request), **payload.model_dump())
    return Status(201, _out(rule))


@router.patch("/rules/{rule_id}", response={200: RuleOut, WRITE_ERRORS: ErrorOut}, summary="Change a rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> dict[str, Any]:
    changes = payload.model_dump(exclude_unset=True)
    rule = policy_rule_update(actor=_admin(request), rule_id=rule_id, **changes)
    return _out(rule)


@router.delete("/rules/{rule_id}", response={204: None, WRITE_ERRORS: ErrorOut}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    policy_rule_delete(actor=_admin(request), rule_id=rule_id)
    return Status(204, None)
