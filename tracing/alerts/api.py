"""Alert rules and their firings over REST: operators (reviewers, admins) read, admins edit rules."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import ConfigDict, Field

from agents.api import request_user
from agents.api.schemas import NEXT_DOC, READ_ERRORS, WRITE_ERRORS, ErrorOut
from agents.selectors import user_is_admin, user_is_reviewer
from core.errors import Forbidden, Invalid, NotFound
from core.pagination import PageQuery, next_link, page_of
from tracing.alerts.services import MIN_SAMPLES_MAX, WINDOW_S_MAX, WINDOW_S_MIN, alert_rule_update
from tracing.models import Alert, AlertRule

router = Router(tags=["alerts"])
RuleKind = Literal["tool_error_rate", "budget_burn", "stuck_sessions", "cost_outliers", "injection_spike"]


class AlertRuleOut(Schema):
    kind: str
    enabled: bool
    threshold: str = Field(
        description="a decimal string; its unit depends on the kind (docs/observability.md)"
    )
    window_s: int
    min_samples: int
    updated_at: datetime


class AlertRulePatch(Schema):
    """The console's bounds: a window of one minute to 30 days."""

    model_config = ConfigDict(extra="forbid")

    threshold: Decimal | None = Field(
        default=None, ge=0, max_digits=12, decimal_places=4, allow_inf_nan=False
    )
    window_s: int | None = Field(default=None, ge=WINDOW_S_MIN, le=WINDOW_S_MAX)
    min_samples: int | None = Field(default=None, ge=1, le=MIN_SAMPLES_MAX)
    enabled: bool | None = None


class AlertOut(Schema):
    id: int
    rule: str
    subject: str
    state: str
    value: str
    detail: str
    fired_at: datetime
    resolved_at: datetime | None


class AlertFilter(PageQuery):
    state: Literal["firing", "resolved"] | None = None
    rule: RuleKind | None = None


class AlertPage(Schema):
    items: list[AlertOut]
    next: str | None = Field(description=NEXT_DOC)


@router.get("/rules", response={200: list[AlertRuleOut], READ_ERRORS: ErrorOut}, summary="The alert rules")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    _operator(request)
    return [_rule_out(rule) for rule in AlertRule.objects.order_by("kind")]


@router.get("/rules/{kind}", response={200: AlertRuleOut, READ_ERRORS: ErrorOut}, summary="One alert rule")
def get_rule(request: HttpRequest, kind: Path[RuleKind]) -> dict[str, Any]:
    _operator(request)
    return _rule_out(_rule(kind))


@router.patch(
    "/rules/{kind}",
    response={200: AlertRuleOut, WRITE_ERRORS: ErrorOut},
    summary="Change an alert rule's threshold, window, minimum samples or switch (admin, audited)",
)
def update_rule(request: HttpRequest, kind: Path[RuleKind], payload: AlertRulePatch) -> dict[str, Any]:
    user = request_user(request)
    if not user_is_admin(user=user):
        raise Forbidden("only an admin may change alert rules")
    changes = {
        field: value for field, value in payload.model_dump(exclude_unset=True).items() if value is not None
    }
    if not changes:
        raise Invalid("nothing to update: send at least one field")
    return _rule_out(alert_rule_update(actor=user, rule=_rule(kind), **changes))


@router.get("", response={200: AlertPage, READ_ERRORS: ErrorOut}, summary="Firings, newest first")
def list_alerts(request: HttpRequest, filters: Query[AlertFilter]) -> dict[str, Any]:
    _operator(request)
    alerts = Alert.objects.select_related("rule")
    if filters.state:
        alerts = alerts.filter(state=filters.state)
    if filters.rule:
        alerts = alerts.filter(rule__kind=filters.rule)
    page = page_of(alerts, filters, created_field="fired_at")
    return {"items": [_alert_out(alert) for alert in page.items], "next": next_link(request, page.cursor)}


def _operator(request: HttpRequest) -> None:
    if not user_is_reviewer(user=request_user(request)):
        raise Forbidden("only reviewers and admins read alerts")


def _rule(kind: str) -> AlertRule:
    rule = AlertRule.objects.filter(kind=kind).first()
    if rule is None:
        raise NotFound(f"no alert rule {kind!r}", field="kind")
    return rule


def _rule_out(rule: AlertRule) -> dict[str, Any]:
    return {
        "kind": rule.kind,
        "enabled": rule.enabled,
        "threshold": str(rule.threshold),
        "window_s": rule.window_s,
        "min_samples": rule.min_samples,
        "updated_at": rule.updated_at,
    }


def _alert_out(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "rule": alert.rule.kind,
        "subject": alert.subject,
        "state": alert.state,
        "value": str(alert.value),
        "detail": alert.detail,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
    }
