"""Deciding a call's tier: the first matching rule, else the tool's default tier."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from approvals.models import PolicyRule, PolicyVersion
from approvals.models.policy import DEFAULT_REVIEWER_GROUP
from approvals.policy.conditions import condition_matches
from core.tiers import RiskTier

# Defaults for calls that no rule matched (DESIGN.md: medium waits 5 minutes; issue 3: high SLA 15).
DEFAULT_DELAY_S = 300
DEFAULT_HIGH_SLA_S = 15 * 60


@dataclass(frozen=True)
class PolicyDecision:
    tier: RiskTier
    policy_version: int
    rule: PolicyRule | None = None
    delay_s: int = DEFAULT_DELAY_S
    approvals_required: int = 1
    reviewer_group: str = DEFAULT_REVIEWER_GROUP
    expiry_s: int | None = None
    sla_s: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def rule_id(self) -> int | None:
        return self.rule.pk if self.rule is not None else None


def rule_matches(rule: PolicyRule, *, tool: str, agent: str, args: dict[str, Any]) -> tuple[bool, str]:
    if not fnmatchcase(tool, rule.tool):
        return False, ""
    if rule.agent and rule.agent != agent:
        return False, ""
    return condition_matches(rule.condition, args=args, tool=tool, agent=agent)


def policy_decide(
    *,
    tool: str,
    agent: str,
    args: dict[str, Any],
    default_tier: str,
    rules: Iterable[PolicyRule],
    policy_version: int,
) -> PolicyDecision:
    """Pure: the tier and terms for one call under the given rules (in priority order)."""
    errors = []
    for rule in rules:
        matched, error = rule_matches(rule, tool=tool, agent=agent, args=args)
        if error:
            errors.append(f"rule {rule.pk}: {error}")
        if matched:
            tier = RiskTier(rule.tier)
            return PolicyDecision(
                tier=tier,
                policy_version=policy_version,
                rule=rule,
                delay_s=rule.delay_s,
                approvals_required=rule.approvals_required,
                reviewer_group=rule.reviewer_group,
                expiry_s=rule.expiry_s,
                sla_s=rule.sla_s if rule.sla_s is not None else _default_sla(tier),
                errors=errors,
            )
    tier = RiskTier(default_tier)
    return PolicyDecision(tier=tier, policy_version=policy_version, sla_s=_default_sla(tier), errors=errors)


def _default_sla(tier: RiskTier) -> int | None:
    return DEFAULT_HIGH_SLA_S if tier in (RiskTier.HIGH, RiskTier.CRITICAL) else None


def policy_current_version() -> int:
    return PolicyVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0


def policy_evaluate(*, tool: str, agent: str, args: dict[str, Any], default_tier: str) -> PolicyDecision:
    """The live policy, read fresh for every call so a saved change applies to the next action."""
    return policy_decide(
        tool=tool,
        agent=agent,
        args=args,
        default_tier=default_tier,
        rules=PolicyRule.objects.order_by("-priority", "id"),
        policy_version=policy_current_version(),
    )
