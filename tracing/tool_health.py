"""Each tool's calls and error rate over the last 5 minutes and the last hour, from its spans."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet
from redis.exceptions import RedisError

from agents.guards.breakers import breaker_states
from tracing.models import Span
from tracing.recorder import TOOL_DECLINED, TOOL_STATUS_ATTRIBUTE


@dataclass(frozen=True)
class ToolHealth:
    tool: str
    calls_5m: int
    errors_5m: int
    calls_1h: int
    errors_1h: int
    breaker: str  # closed, open, half_open; "unknown" while Redis cannot be asked

    @property
    def error_rate_5m(self) -> Decimal | None:
        return Decimal(self.errors_5m) / self.calls_5m if self.calls_5m else None

    @property
    def error_rate_1h(self) -> Decimal | None:
        return Decimal(self.errors_1h) / self.calls_1h if self.calls_1h else None


def tool_calls_made(spans: QuerySet[Span]) -> QuerySet[Span]:
    """Tool spans of calls that reached the tool (or failed on their own): a call people declined
    is neither a call nor an error of the tool."""
    status = f"attributes__{TOOL_STATUS_ATTRIBUTE}"
    # A span without the attribute must stay: NOT (NULL = 'declined') alone would drop it.
    return spans.filter(Q(**{f"{status}__isnull": True}) | ~Q(**{status: TOOL_DECLINED}))


def tool_health(*, now: datetime) -> list[ToolHealth]:
    recent, hour_ago = now - timedelta(minutes=5), now - timedelta(hours=1)
    failed = Q(status=Span.Status.ERROR)
    rows = list(
        tool_calls_made(
            Span.objects.filter(kind=Span.Kind.TOOL, started_at__gte=hour_ago, started_at__lte=now)
        )
        .values(tool=F("attributes__gen_ai.tool.name"))
        .annotate(
            calls_1h=Count("id"),
            errors_1h=Count("id", filter=failed),
            calls_5m=Count("id", filter=Q(started_at__gte=recent)),
            errors_5m=Count("id", filter=failed & Q(started_at__gte=recent)),
        )
        .order_by("tool")
    )
    breakers = _breakers([str(r["tool"]) for r in rows])
    return [
        ToolHealth(
            str(r["tool"]),
            r["calls_5m"],
            r["errors_5m"],
            r["calls_1h"],
            r["errors_1h"],
            breaker=breakers[str(r["tool"])],
        )
        for r in rows
    ]


def _breakers(tool_names: list[str]) -> dict[str, str]:
    try:
        return {name: state["state"] for name, state in breaker_states(tool_names=tool_names).items()}
    except RedisError:
        # The page still shows the error rates, which come from PostgreSQL.
        return dict.fromkeys(tool_names, "unknown")
