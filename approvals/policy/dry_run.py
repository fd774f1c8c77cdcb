"""How the last N days of tool calls would have been tiered under a draft rule, before saving it."""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agents.models import Step, Tool
from approvals.models import PolicyRule
from approvals.policy.evaluate import policy_decide
from approvals.policy.rules_cache import policy_rules_current
from core import clock

MAX_STEPS = 2000
# Each call's conditions have their own budget (POLICY_EVAL_BUDGET_MS); a draft that uses it up
# on every call would still hold the admin's request for minutes, so the whole run stops here.
MAX_SECONDS = 10.0


@dataclass(frozen=True)
class DryRunRow:
    at: datetime
    task_id: Any
    agent: str
    tool: str
    arguments: Any
    current: str
    draft: str
    errors: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.current != self.draft


@dataclass(frozen=True)
class DryRunReport:
    rows: list[DryRunRow]
    counts: dict[str, dict[str, int]]  # tier → {"current": n, "draft": n}
    stopped_early: bool = False

    @property
    def changed(self) -> int:
        return sum(row.changed for row in self.rows)


def policy_dry_run(*, draft: PolicyRule, days: int, replacing: int | None = None) -> DryRunReport:
    """Tier every tool call of the last `days` days under the live rules and under the rules
    with `draft` added (or in place of rule `replacing`). Nothing is saved."""
    version, live = policy_rules_current()
    drafted = [rule for rule in live if rule.pk != replacing] + [draft]
    drafted.sort(key=lambda rule: (-rule.priority, rule.pk or 2**62))
    defaults = dict(Tool.objects.values_list("name", "risk_tier"))
    deadline = time.monotonic() + MAX_SECONDS
    since = clock.now() - timedelta(days=days)
    steps = (
        Step.objects.filter(started_at__gte=since)
        .select_related("task__session__agent")
        .order_by("-started_at")[:MAX_STEPS]
    )
    rows: list[DryRunRow] = []
    counts: dict[str, dict[str, int]] = {}
    for step in steps:
        agent = step.task.session.agent.name
        for call in (step.response or {}).get("tool_calls") or []:
            name, args = call.get("name", ""), call.get("arguments")
            if name not in defaults or not isinstance(args, dict):
                continue
            if time.monotonic() > deadline:
                return DryRunReport(rows=rows, counts=dict(sorted(counts.items())), stopped_early=True)
            current, drafted_decision = [
                policy_decide(
                    tool=name,
                    agent=agent,
                    args=args,
                    default_tier=defaults[name],
                    rules=rules,
                    policy_version=version,
                )
                for rules in (live, drafted)
            ]
            tiers = current.tier.value, drafted_decision.tier.value
            errors = tuple(dict.fromkeys(current.errors + drafted_decision.errors))
            rows.append(DryRunRow(step.started_at, step.task_id, agent, name, args, *tiers, errors=errors))
            counts.setdefault(tiers[0], {"current": 0, "draft": 0})["current"] += 1
            counts.setdefault(tiers[1], {"current": 0, "draft": 0})["draft"] += 1
    return DryRunReport(rows=rows, counts=dict(sorted(counts.items())))
