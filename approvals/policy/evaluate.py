"""Deciding a call's tier: the first matching rule, else the tool's default tier; a rule whose
condition fails makes the tier at least high."""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from approvals.models import PolicyRule, PolicyVersion
from approvals.models.policy import DEFAULT_REVIEWER_GROUP
from approvals.policy.conditions import CallConditions
from approvals.policy.history import policy_at
from approvals.policy.rules_cache import PolicyMarker, policy_rules_current
from core.tiers import RiskTier, tier_max, tier_rank

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


def rule_matches(rule: PolicyRule, *, tool: str, agent: str, conditions: CallConditions) -> tuple[bool, str]:
    if not fnmatchcase(tool, rule.tool):
        return False, ""
    if rule.agent and rule.agent != agent:
        return False, ""
    return conditions.matches(rule.condition)


def policy_decide(
    *,
    tool: str,
    agent: str,
    args: dict[str, Any],
    default_tier: str,
    rules: Iterable[PolicyRule],
    policy_version: int,
    session: dict[str, Any] | None = None,
    unseen_addresses: list[str] | None = None,
) -> PolicyDecision:
    """The tier and terms for one call under the given rules (in priority order); reads no rows.

    A rule whose condition fails (a runtime error, a timeout) fails closed: it may have matched,
    so the call gets at least that rule's tier raised to high, and more if a later rule or the
    tool's default says more. An error can therefore never lower a call's tier, which a model
    that controls the arguments could otherwise arrange.

    Raise rules (`raise_only`) come after the others have decided: each that matches, seeing
    that decision as `tier`, lifts the call to its own tier when that is higher; they never
    lower one.
    """
    rules = list(rules)
    conditions = CallConditions(
        args=args,
        tool=tool,
        agent=agent,
        tier=default_tier,
        session=session,
        unseen_addresses=unseen_addresses,
    )
    errors: list[str] = []
    floor: PolicyDecision | None = None
    decision: PolicyDecision
    for rule in (rule for rule in rules if not rule.raise_only):
        matched, error = rule_matches(rule, tool=tool, agent=agent, conditions=conditions)
        if error:
            errors.append(f"rule {rule.pk}: {error}")
            closed = _rule_decision(rule, policy_version, tier=tier_max(RiskTier(rule.tier), RiskTier.HIGH))
            if floor is None or tier_rank(closed.tier) > tier_rank(floor.tier):
                floor = closed
            if floor.tier is RiskTier.CRITICAL:
                decision = floor
                break
        elif matched:
            decision = _rule_decision(rule, policy_version, tier=RiskTier(rule.tier))
            break
    else:
        tier = RiskTier(default_tier)
        decision = PolicyDecision(tier=tier, policy_version=policy_version, sla_s=_default_sla(tier))
    # Ties go to the failed rule: it comes first in priority order, so it would have decided.
    if floor is not None and tier_rank(floor.tier) >= tier_rank(decision.tier):
        decision = floor
    raising = conditions.at_tier(decision.tier.value)
    for rule in (rule for rule in rules if rule.raise_only):
        matched, error = rule_matches(rule, tool=tool, agent=agent, conditions=raising)
        if error:
            errors.append(f"rule {rule.pk}: {error}")
            lifted = _rule_decision(rule, policy_version, tier=tier_max(RiskTier(rule.tier), RiskTier.HIGH))
        elif matched:
            lifted = _rule_decision(rule, policy_version, tier=RiskTier(rule.tier))
        else:
            continue
        if tier_rank(lifted.tier) > tier_rank(decision.tier):
            decision = lifted
    return replace(decision, errors=errors)


def _rule_decision(rule: PolicyRule, policy_version: int, *, tier: RiskTier) -> PolicyDecision:
    return PolicyDecision(
        tier=tier,
        policy_version=policy_version,
        rule=rule,
        delay_s=rule.delay_s,
        approvals_required=rule.approvals_required,
        reviewer_group=rule.reviewer_group,
        expiry_s=rule.expiry_s,
        sla_s=rule.sla_s if rule.sla_s is not None else _default_sla(tier),
    )


def _default_sla(tier: RiskTier) -> int | None:
    return DEFAULT_HIGH_SLA_S if tier in (RiskTier.HIGH, RiskTier.CRITICAL) else None


def policy_current_version() -> int:
    return PolicyVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0


def policy_evaluate(
    *,
    tool: str,
    agent: str,
    args: dict[str, Any],
    default_tier: str,
    session: dict[str, Any] | None = None,
    unseen_addresses: list[str] | None = None,
    policy_version: int | None = None,
    policy_marker: PolicyMarker | None = None,
) -> PolicyDecision:
    """The live policy: a saved change applies to the next action (rules_cache.py). With
    `policy_version` (a replay's), that version's rules and tools' tiers instead, unless it is
    the current one; a tool the version did not know keeps its tier now. `policy_marker`: the
    policy's marker if the caller just read it."""
    version, rules = policy_rules_current(policy_marker)
    if policy_version is not None and policy_version != version:
        earlier = policy_at(policy_version)
        version, rules = earlier.number, earlier.rules
        default_tier = earlier.tool_tiers.get(tool, default_tier)
    return policy_decide(
        tool=tool,
        agent=agent,
        args=args,
        default_tier=default_tier,
        rules=rules,
        policy_version=version,
        session=session,
        unseen_addresses=unseen_addresses,
    )
