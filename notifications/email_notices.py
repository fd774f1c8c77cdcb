"""E-mails: about a request (each recipient with their own one-click links) and about an alert."""

import json

from django.conf import settings
from django.core.mail import send_mail

from approvals.models import ActionRequest
from notifications.email_links import email_links_create
from notifications.models import Notice
from notifications.notices import NoticeFailed, sender
from notifications.slack_cards import request_url
from notifications.webhook_notices import alert_transition

MAX_ARGUMENTS_CHARS = 2000
SUBJECTS = {
    "created": "[Tollgate] {tier} action {tool} waits for a decision",
    "escalated": "[Tollgate] {tier} action {tool} waits past its SLA",
}


def _message(request: ActionRequest, event: str, links: dict[str, str]) -> str:
    arguments = json.dumps(request.arguments, sort_keys=True)[:MAX_ARGUMENTS_CHARS]
    lines = [
        f"Action request {request.id} ({request.tool_name} for agent {request.agent_name}, "
        f"{request.tier}, version {request.version}) has been pending since "
        f"{request.created_at:%Y-%m-%d %H:%M} UTC.",
        f"Arguments: {arguments}",
        "",
    ]
    lines += [f"{decision.capitalize()}: {url}" for decision, url in links.items()]
    if links:
        lines.append("Each link asks you to sign in and confirm; it works once, for this version only.")
    lines.append(f"Open in Tollgate: {request_url(request.id)}")
    return "\n".join(lines) + "\n"


def _send(notice: Notice, event: str) -> None:
    """One notice per recipient (its key ends with the address), so a retry mails nobody twice."""
    request = ActionRequest.objects.get(pk=notice.subject)
    recipient = notice.key.removeprefix(f"{notice.kind}:{notice.subject}:")
    subject = SUBJECTS[event].format(tier=request.tier, tool=request.tool_name)
    links = email_links_create(request=request, recipient=recipient)
    try:
        send_mail(subject, _message(request, event, links), from_email=None, recipient_list=[recipient])
    except OSError as exc:  # SMTP: refused, unreachable, timed out
        raise NoticeFailed(f"mail to {recipient}: {exc}") from exc


@sender("email.created")
def email_created(notice: Notice) -> None:
    _send(notice, "created")


@sender("email.escalated")
def email_escalated(notice: Notice) -> None:
    _send(notice, "escalated")


@sender("email.alert")
def email_alert(notice: Notice) -> None:
    alert, transition = alert_transition(notice)
    subject = f"[Tollgate] {transition}: {alert.rule.get_kind_display()}"
    try:
        send_mail(
            subject=subject + (f" ({alert.subject})" if alert.subject else ""),
            message=f"{alert.detail}\n\nFired at {alert.fired_at:%Y-%m-%d %H:%M:%S} UTC.\n",
            from_email=None,
            recipient_list=list(settings.ALERTS_EMAILS),
        )
    except OSError as exc:  # SMTP: refused, unreachable, timed out
        raise NoticeFailed(f"alert mail: {exc}") from exc
