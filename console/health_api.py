"""Health endpoints for load balancers and orchestrators: no token, and nothing but ok or error."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from console.health import readiness

# auth=None: a probe carries no token. The answers name no host, version or exception.
router = Router(tags=["health"], auth=None)

CheckState = Literal["ok", "error"]


class HealthLive(Schema):
    status: Literal["ok"]


class HealthChecks(Schema):
    database: CheckState
    redis: CheckState
    broker: CheckState


class HealthReady(Schema):
    status: CheckState
    checks: HealthChecks


@router.get("/live", response={200: HealthLive}, summary="The process answers (no dependency is asked)")
async def live(request: HttpRequest) -> dict[str, str]:
    """200 whenever the process answers HTTP: for a liveness probe."""
    # Async: answered on the event loop, not on an API thread, so a process whose threads are all
    # busy still counts as alive (it is busy, not dead).
    return {"status": "ok"}


@router.get(
    "/ready",
    response={200: HealthReady, 503: HealthReady},
    summary="PostgreSQL, Redis and the Celery broker answer (503 naming the failing check)",
)
def ready(request: HttpRequest) -> Status[dict[str, Any]]:
    """For a readiness probe or a load balancer: each check is `ok` or `error` (the reason is in
    this process's log), and the answer comes within about a second whatever fails."""
    report = readiness()
    return Status(200 if report.ok else 503, {"status": report.status, "checks": report.checks})
