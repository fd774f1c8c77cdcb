"""The automatic roll back: beat asks every ROLLOUT_JUDGE_S whether a canary does worse than
its rollout allows (agents.tasks.judge_rollouts)."""

import logging

from agents.models import Rollout
from agents.rollouts.comparison import Comparison, rollout_compare
from agents.rollouts.services import rollout_roll_back
from core.errors import Conflict

logger = logging.getLogger(__name__)
# Active rollouts judged per sweep; there is at most one per agent.
MAX_JUDGED = 1000


def rollback_reason(rollout: Rollout, comparison: Comparison) -> str | None:
    """Why the canary must roll back, or None while it may go on.

    Judged once the canary has `min_tasks` finished tasks and the baseline at least one; then
    the canary fails if its failure rate, or its cost per task, is more than the rollout's
    multiple of the baseline's (strictly: equal to the multiple passes). Compared as exact
    cross-products, so no rate is rounded: canary_failed * baseline_finished > multiple *
    baseline_failed * canary_finished.
    """
    canary, baseline = comparison.canary, comparison.baseline
    if canary.finished < rollout.min_tasks or baseline.finished == 0:
        return None
    multiple = rollout.failure_rate_multiple
    if canary.failed * baseline.finished > multiple * baseline.failed * canary.finished:
        return (
            f"the canary's failure rate {canary.failed}/{canary.finished} is more than "
            f"{multiple} times the baseline's {baseline.failed}/{baseline.finished}"
        )
    multiple = rollout.cost_multiple
    if canary.cost_usd * baseline.finished > multiple * baseline.cost_usd * canary.finished:
        return (
            f"the canary's cost per task {canary.cost_per_task:.6f} USD is more than "
            f"{multiple} times the baseline's {baseline.cost_per_task:.6f} USD"
        )
    return None


def rollouts_judge() -> list[int]:
    """Roll back every active rollout whose canary fails its thresholds; their ids.

    A rollout that a person promoted or rolled back meanwhile is left as they did it.
    """
    rolled_back = []
    active = Rollout.objects.filter(status=Rollout.Status.ACTIVE).select_related(
        "agent", "baseline", "canary"
    )
    for rollout in active.order_by("pk")[:MAX_JUDGED]:
        reason = rollback_reason(rollout, rollout_compare(rollout))
        if reason is None:
            continue
        try:
            rollout_roll_back(rollout=rollout, actor=None, reason=f"automatic: {reason}")
        except Conflict:
            continue
        logger.warning("rolled back rollout %s of %s: %s", rollout.pk, rollout.agent.name, reason)
        rolled_back.append(rollout.pk)
    return rolled_back
