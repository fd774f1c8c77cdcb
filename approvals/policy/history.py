"""The rules of an earlier policy version, rebuilt from its snapshot (replay under a chosen version).

Every change of the policy stores the whole policy as it became (PolicyVersion.snapshot: the
rules in match order and every tool's tier), so any version since the first change can be
evaluated again. The rules come back as unsaved PolicyRule objects carrying their old ids.
"""

from dataclasses import dataclass
from typing import Any

from approvals.models import PolicyRule, PolicyVersion
from approvals.policy.services import RULE_FIELDS
from core.errors import NotFound


@dataclass(frozen=True)
class PolicyAt:
    number: int
    rules: tuple[PolicyRule, ...]
    tool_tiers: dict[str, str]


def policy_at(number: int) -> PolicyAt:
    """Policy version `number` as it was saved; NotFound if there is no such version."""
    snapshot = PolicyVersion.objects.filter(number=number).values_list("snapshot", flat=True).first()
    if snapshot is None:
        raise NotFound(f"no policy version {number}", field="policy_version")
    rules = tuple(_rule(row) for row in snapshot.get("rules") or [])
    return PolicyAt(number=number, rules=rules, tool_tiers=dict(snapshot.get("tools") or {}))


def _rule(row: dict[str, Any]) -> PolicyRule:
    # A snapshot from before a field existed lacks it: the model's default is what it meant.
    return PolicyRule(pk=row.get("id"), **{name: row[name] for name in RULE_FIELDS if name in row})
