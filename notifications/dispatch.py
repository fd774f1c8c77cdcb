"""What each event sends: request events and alert transitions become notices (after commit).

Registered in NotificationsConfig.ready() as listeners of approvals.live and tracing.alerts.
"""

import uuid

from django.conf import settings

from agents.models import Task
from approvals.models import ActionRequest
from notifications.models import GroupChannels, Notice, SlackUserLink
from notifications.notices import notice_create

# Tiers announced when a group's channels name none: every tier that waits for people.
DEFAULT_TIERS = ("medium", "high", "critical")
SLACK_KINDS = ("slack.card", "slack.dm")
MAX_DM_MEMBERS = 50


def group_channels(request: ActionRequest, event: str) -> GroupChannels | None:
    """The request's group's channels if they announce this event for this tier."""
    channels = GroupChannels.objects.filter(reviewer_group=request.reviewer_group).first()
    if (
        channels is None
        or event not in channels.events
        or request.tier not in (channels.tiers or DEFAULT_TIERS)
    ):
        return None
    return channels


def email_recipients(event: str, channels: GroupChannels | None) -> list[str]:
    """Who is mailed about `event`: the group's list (`channels`, if they announce it), and on
    escalation APPROVALS_ESCALATION_EMAILS."""
    recipients = list(settings.APPROVALS_ESCALATION_EMAILS) if event == "escalated" else []
    recipients += channels.emails if channels is not None else []
    return sorted({address.strip().lower() for address in recipients if address.strip()})


def dm_recipients(request: ActionRequest) -> list[str]:
    """Slack users of the group's active members who may approve (not the task's submitter)."""
    links = SlackUserLink.objects.filter(user__groups__name=request.reviewer_group, user__is_active=True)
    # The owner by subquery: `request.task` would load the task's whole conversation for one id.
    submitter = Task.objects.filter(pk=request.task_id).values("owner_id")
    links = links.exclude(user_id__in=submitter).order_by("slack_user_id")
    return list(links.values_list("slack_user_id", flat=True)[:MAX_DM_MEMBERS])


def request_event_dispatch(*, request_id: uuid.UUID, event: str) -> None:
    """A request's event: "created", "changed", "decided" or "escalated"."""
    from notifications.tasks import slack_card_update

    request = ActionRequest.objects.filter(pk=request_id).first()
    if request is None:
        return
    subject = str(request_id)
    channels = group_channels(request, event)
    if event == "escalated" and settings.APPROVALS_WEBHOOK_URL:
        notice_create(kind="webhook.escalation", subject=subject)
    if event in ("created", "escalated"):
        for recipient in email_recipients(event, channels):
            notice_create(kind=f"email.{event}", subject=subject, suffix=f":{recipient}")
    if channels is not None and channels.slack_channel and settings.SLACK_BOT_TOKEN:
        notice_create(kind="slack.card", subject=subject)
    if channels is not None and channels.slack_dm_members and settings.SLACK_BOT_TOKEN:
        for slack_user_id in dm_recipients(request):
            notice_create(kind="slack.dm", subject=subject, suffix=f":{slack_user_id}")
    if channels is not None and channels.pagerduty_key_env and event == "escalated":
        notice_create(kind="pagerduty.trigger", subject=f"ar:{subject}")
    if (
        event in ("changed", "decided")
        and Notice.objects.filter(subject=subject, kind__in=SLACK_KINDS).exists()
    ):
        slack_card_update.delay(subject)
    if event == "decided" and Notice.objects.filter(key=f"pagerduty.trigger:ar:{subject}").exists():
        notice_create(kind="pagerduty.resolve", subject=f"ar:{subject}")


def alert_transition_dispatch(*, alert_id: int, transition: str) -> None:
    """An alert's transition, "fired" or "resolved": its webhook, e-mail and PagerDuty, where set."""
    if settings.ALERTS_WEBHOOK_URL:
        notice_create(kind="webhook.alert", subject=str(alert_id), suffix=f":{transition}")
    if settings.ALERTS_EMAILS:
        notice_create(kind="email.alert", subject=str(alert_id), suffix=f":{transition}")
    if not settings.PAGERDUTY_ALERTS_ROUTING_KEY:
        return
    subject = f"alert:{alert_id}"
    if transition == "fired":
        notice_create(kind="pagerduty.trigger", subject=subject)
    elif Notice.objects.filter(key=f"pagerduty.trigger:{subject}").exists():
        notice_create(kind="pagerduty.resolve", subject=subject)
