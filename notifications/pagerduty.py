"""PagerDuty Events API v2: trigger and resolve, one dedup key per request or alert.

Severity follows the seeds' map: critical (PagerDuty P1) for a critical request or a money or
injection alert, warning (P2) for the rest; PagerDuty's event rules turn severity into priority.
"""

import os
import re
from typing import Any

import httpx
from django.conf import settings

from approvals.models import ActionRequest
from core.tiers import RiskTier
from core.webhooks import webhook_post
from notifications.models import GroupChannels, Notice
from notifications.notices import NoticeFailed, notice_check_status, sender
from notifications.slack_cards import request_url
from tracing.models import Alert, AlertRule

# Only variables named like this may hold a routing key: an admin naming a variable cannot
# make Tollgate send another secret (DJANGO_SECRET_KEY, a database URL) to PagerDuty.
KEY_ENV_PATTERN = re.compile(r"PAGERDUTY_KEY_[A-Z0-9_]{1,50}")
CRITICAL_ALERTS = {AlertRule.Kind.BUDGET_BURN, AlertRule.Kind.COST_OUTLIERS, AlertRule.Kind.INJECTION_SPIKE}


def dedup_key(subject: str) -> str:
    """`tollgate-ar-<request id>` or `tollgate-alert-<alert id>`: trigger and resolve share it."""
    kind, _, ident = subject.partition(":")
    return f"tollgate-{kind}-{ident}"


def request_severity(tier: str) -> str:
    return "critical" if tier == RiskTier.CRITICAL else "warning"


def alert_severity(kind: str) -> str:
    return "critical" if kind in CRITICAL_ALERTS else "warning"


def _routing_key(subject: str) -> str:
    kind, _, ident = subject.partition(":")
    if kind == "alert":
        return settings.PAGERDUTY_ALERTS_ROUTING_KEY
    group = ActionRequest.objects.values_list("reviewer_group", flat=True).filter(pk=ident).first()
    channels = GroupChannels.objects.filter(reviewer_group=group).first()
    return routing_key_in_env(channels.pagerduty_key_env if channels else "")


def routing_key_in_env(name: str) -> str:
    """The routing key held by environment variable `name`, if it is named like one (else "")."""
    return os.environ.get(name, "") if KEY_ENV_PATTERN.fullmatch(name) else ""


def _trigger_payload(subject: str) -> dict[str, Any]:
    kind, _, ident = subject.partition(":")
    if kind == "alert":
        alert = Alert.objects.select_related("rule").get(pk=int(ident))
        return {
            "summary": f"Tollgate alert: {alert.rule.get_kind_display()} {alert.subject}".strip()[:1024],
            "severity": alert_severity(alert.rule.kind),
            "source": "tollgate",
            "component": "alerts",
            "custom_details": {
                "value": str(alert.value),
                "threshold": str(alert.rule.threshold),
                "detail": alert.detail,
            },
        }
    request = ActionRequest.objects.get(pk=ident)
    return {
        "summary": f"Tollgate: {request.tier} action {request.tool_name} waits past its SLA"[:1024],
        "severity": request_severity(request.tier),
        "source": "tollgate",
        "component": "approvals",
        "group": request.reviewer_group,
        "custom_details": {
            "request": str(request.id),
            "version": request.version,
            "url": request_url(request.id),
        },
    }


def _send(notice: Notice, action: str) -> None:
    routing_key = _routing_key(notice.subject)
    if not routing_key:
        raise NoticeFailed("no PagerDuty routing key in the environment", retry=False)
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(notice.subject),
    }
    if action == "trigger":
        event["payload"] = _trigger_payload(notice.subject)
    try:
        # Unsigned (the routing key authenticates it), bounded in time and size like every webhook.
        status = webhook_post(url=settings.PAGERDUTY_EVENTS_URL, secret="", event=event)
    except httpx.HTTPError as exc:
        raise NoticeFailed(f"pagerduty {action}: {exc}") from exc
    notice_check_status(status, what=f"pagerduty {action}")


@sender("pagerduty.trigger")
def pagerduty_trigger(notice: Notice) -> None:
    _send(notice, "trigger")


@sender("pagerduty.resolve")
def pagerduty_resolve(notice: Notice) -> None:
    trigger = (
        Notice.objects.filter(key=f"pagerduty.trigger:{notice.subject}")
        .values_list("status", flat=True)
        .first()
    )
    if trigger in (Notice.Status.PENDING, Notice.Status.CLAIMED, Notice.Status.FAILED):
        raise NoticeFailed("the trigger has not gone out yet")  # resolve after it, on a retry
    if trigger == Notice.Status.SENT:
        _send(notice, "resolve")
