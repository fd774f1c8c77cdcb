"""How many approvals a set of tasks asked for, and how many people turned down, per group:
registered with the runtime's rollout comparison (agents/rollouts/comparison.py) in ready()."""

from django.db.models import Count, Q, QuerySet

from agents.models import Task
from agents.rollouts.comparison import ApprovalCounts
from approvals.models import ActionRequest

Status = ActionRequest.Status
# Turned down by people: rejected, expired undecided (counts as rejected), or cancelled by a
# reviewer (a cancel without a reviewer is the system's: its task ended).
TURNED_DOWN = Q(status__in=(Status.REJECTED, Status.EXPIRED)) | Q(
    status=Status.CANCELLED, decided_by__isnull=False
)


def approval_counts(*, tasks: QuerySet[Task], group_by: str) -> dict[str, ApprovalCounts]:
    """One aggregate query over the requests of `tasks`, grouped by the Task field `group_by`."""
    key = f"task__{group_by}"
    rows = (
        ActionRequest.objects.filter(task__in=tasks.values("pk"))
        .values(key)
        .annotate(asked=Count("id"), rejected=Count("id", filter=TURNED_DOWN))
        .order_by()
    )
    return {row[key]: ApprovalCounts(asked=row["asked"], rejected=row["rejected"]) for row in rows}
