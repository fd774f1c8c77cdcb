"""Changing the policy: rules and tools' tiers. Each change is a new version and an audit entry."""

from typing import Any

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import Q
from django.forms.models import model_to_dict

from agents.models import Tool
from approvals.audit import audit_append
from approvals.models import PolicyRule, PolicyVersion
from core import clock
from core.cel.conditions import ConditionError, condition_check
from core.errors import Invalid, NotFound
from core.tiers import RiskTier

RULE_FIELDS = (
    "tool",
    "agent",
    "condition",
    "tier",
    "delay_s",
    "approvals_required",
    "reviewer_group",
    "expiry_s",
    "sla_s",
    "priority",
    "raise_only",
)
_VERSION_LOCK_KEY = 7_301_304

DAY_S = 86_400
# (least, most) of each number of a rule; the REST schemas and the console form share them.
# All fit PostgreSQL's integer; the upper ends are generous for a person's reaction time.
RULE_BOUNDS: dict[str, tuple[int, int]] = {
    "delay_s": (0, 30 * DAY_S),
    "approvals_required": (1, 20),
    "expiry_s": (0, 30 * DAY_S),
    "sla_s": (0, 30 * DAY_S),
    "priority": (-(2**31), 2**31 - 1),
}


def rule_as_dict(rule: PolicyRule) -> dict[str, Any]:
    return {"id": rule.pk, **model_to_dict(rule, fields=RULE_FIELDS)}


def validate_rule(values: dict[str, Any]) -> None:
    """Refuse a rule that cannot work, naming the field; nothing is saved before this passes."""
    given = {key: value for key, value in values.items() if value is not None or key in ("expiry_s", "sla_s")}
    values = {**_rule_defaults(), **given}
    from agents.models import Agent

    tool = values["tool"]
    if not tool or len(tool) > 200:
        raise Invalid("tool must be a tool name or a glob such as issue_*", field="tool")
    if not any(ch in tool for ch in "*?[") and not Tool.objects.filter(name=tool).exists():
        raise Invalid(f"no tool named {tool!r}; use a registered tool's name or a glob", field="tool")
    if values.get("agent") and not Agent.objects.filter(name=values["agent"]).exists():
        raise Invalid(f"no agent named {values['agent']!r}", field="agent")
    if values["tier"] not in RiskTier.values:
        raise Invalid(f"tier must be one of {', '.join(RiskTier.values)}", field="tier")
    for name, (least, most) in RULE_BOUNDS.items():
        value = values.get(name)
        if value is None and name in ("expiry_s", "sla_s"):
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
            raise Invalid(f"{name} must be a whole number from {least} to {most}", field=name)
    if not isinstance(values["raise_only"], bool):
        raise Invalid("raise_only must be true or false", field="raise_only")
    if not values.get("reviewer_group"):
        raise Invalid("reviewer_group must name a group", field="reviewer_group")
    if (
        values["reviewer_group"] != "reviewers"
        and not Group.objects.filter(name=values["reviewer_group"]).exists()
    ):
        raise Invalid(f"no group named {values['reviewer_group']!r}", field="reviewer_group")
    if values["tier"] == RiskTier.HIGH:
        _check_quorum(values["approvals_required"], values["reviewer_group"])
    if values.get("condition"):
        try:
            condition_check(values["condition"])
        except ConditionError as exc:
            raise Invalid(str(exc), field="condition") from exc


def _check_quorum(required: int, group: str) -> None:
    """Refuse a quorum that the people who may decide in `group` could never reach."""
    # Who may decide is user_may_review's rule: the group's active members and active admins.
    able = User.objects.filter(Q(groups__name=group) | Q(is_staff=True), is_active=True).distinct().count()
    if required > able:
        raise Invalid(
            f"approvals_required is {required}, but only {able} active "
            f"{'person' if able == 1 else 'people'} may approve in group {group!r} (its members and admins)",
            field="approvals_required",
        )


def policy_snapshot() -> dict[str, Any]:
    return {
        "rules": [rule_as_dict(rule) for rule in PolicyRule.objects.order_by("-priority", "id")],
        "tools": dict(Tool.objects.order_by("name").values_list("name", "risk_tier")),
    }


def _new_version(*, actor: User, summary: str) -> PolicyVersion:
    # Two admins saving at once would both pick the same next number: take turns (until commit).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_VERSION_LOCK_KEY])
    last = PolicyVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0
    return PolicyVersion.objects.create(
        number=last + 1,
        snapshot=policy_snapshot(),
        summary=summary[:300],
        created_by=actor,
        created_at=clock.now(),
    )


def policy_rule_create(*, actor: User, **values: Any) -> PolicyRule:
    values = {**_rule_defaults(), **values}
    validate_rule(values)
    with transaction.atomic():
        rule = PolicyRule.objects.create(**{name: values[name] for name in RULE_FIELDS})
        version = _new_version(actor=actor, summary=f"rule {rule.pk} created")
        audit_append(
            actor=actor,
            action="policy.rule_created",
            object_type="policy_rule",
            object_id=str(rule.pk),
            after={**rule_as_dict(rule), "policy_version": version.number},
        )
    return rule


def policy_rule_update(*, actor: User, rule_id: int, **changes: Any) -> PolicyRule:
    with transaction.atomic():
        rule = PolicyRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(f"no rule {rule_id}")
        before = rule_as_dict(rule)
        values = {**before, **changes}
        validate_rule(values)
        for name in RULE_FIELDS:
            setattr(rule, name, values[name])
        rule.save()
        version = _new_version(actor=actor, summary=f"rule {rule.pk} changed")
        audit_append(
            actor=actor,
            action="policy.rule_updated",
            object_type="policy_rule",
            object_id=str(rule.pk),
            before=before,
            after={**rule_as_dict(rule), "policy_version": version.number},
        )
    return rule


def policy_rule_delete(*, actor: User, rule_id: int) -> None:
    with transaction.atomic():
        rule = PolicyRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(f"no rule {rule_id}")
        before = rule_as_dict(rule)
        rule.delete()
        version = _new_version(actor=actor, summary=f"rule {rule_id} deleted")
        audit_append(
            actor=actor,
            action="policy.rule_deleted",
            object_type="policy_rule",
            object_id=str(rule_id),
            before=before,
            after={"policy_version": version.number},
        )


def tool_tier_set(*, actor: User, tool: Tool, tier: str) -> Tool:
    if tier not in RiskTier.values:
        raise Invalid(f"tier must be one of {', '.join(RiskTier.values)}", field="risk_tier")
    with transaction.atomic():
        locked = Tool.objects.select_for_update().get(pk=tool.pk)
        before = locked.risk_tier
        locked.risk_tier = tier
        locked.save(update_fields=["risk_tier", "updated_at"])
        version = _new_version(actor=actor, summary=f"tool {locked.name}: {before} → {tier}")
        audit_append(
            actor=actor,
            action="policy.tool_tier_changed",
            object_type="tool",
            object_id=locked.name,
            before={"risk_tier": before},
            after={"risk_tier": tier, "policy_version": version.number},
        )
    return locked


def _rule_defaults() -> dict[str, Any]:
    return {
        "agent": "",
        "condition": "",
        "delay_s": 300,
        "approvals_required": 1,
        "reviewer_group": "reviewers",
        "expiry_s": None,
        "sla_s": None,
        "priority": 0,
        "raise_only": False,
    }
