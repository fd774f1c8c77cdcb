"""Admins' settings: each reviewer group's channels, Slack user links, and a test notice."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction

from approvals.audit import audit_append
from core import clock
from core.errors import Invalid, NotFound
from core.tiers import RiskTier
from notifications.models import GroupChannels, SlackUserLink
from notifications.notices import NoticeFailed
from notifications.pagerduty import KEY_ENV_PATTERN, routing_key_in_env
from notifications.slack_client import slack_call

MAX_EMAILS = 20
WAITING_TIERS = (RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL)


def group_channels_snapshot(channels: GroupChannels) -> dict[str, Any]:
    """A group's channels as plain values: for the audit log and for the page's edit form."""
    return {
        "slack_channel": channels.slack_channel,
        "slack_dm_members": channels.slack_dm_members,
        "emails": list(channels.emails),
        "pagerduty_key_env": channels.pagerduty_key_env,
        "tiers": list(channels.tiers),
        "events": list(channels.events),
    }


def group_channels_save(
    *,
    actor: User,
    reviewer_group: str,
    slack_channel: str,
    slack_dm_members: bool,
    emails: list[str],
    pagerduty_key_env: str,
    tiers: list[str],
    events: list[str],
) -> GroupChannels:
    """Create or change a group's channels (audited). The key is named, never stored."""
    if len(emails) > MAX_EMAILS:
        raise Invalid(f"at most {MAX_EMAILS} e-mail addresses", field="emails")
    if pagerduty_key_env and not KEY_ENV_PATTERN.fullmatch(pagerduty_key_env):
        raise Invalid(
            "name an environment variable PAGERDUTY_KEY_<NAME> (capitals, digits, _)",
            field="pagerduty_key_env",
        )
    if any(tier not in WAITING_TIERS for tier in tiers):
        raise Invalid("tiers are medium, high and critical", field="tiers")
    if any(event not in GroupChannels.Event.values for event in events):
        raise Invalid(f"events are {', '.join(GroupChannels.Event.values)}", field="events")
    with transaction.atomic():
        channels, created = GroupChannels.objects.select_for_update().get_or_create(
            reviewer_group=reviewer_group
        )
        before = None if created else group_channels_snapshot(channels)
        channels.slack_channel, channels.emails, channels.pagerduty_key_env = (
            slack_channel,
            emails,
            pagerduty_key_env,
        )
        channels.slack_dm_members, channels.tiers, channels.events = slack_dm_members, tiers, events
        channels.save()
        audit_append(
            actor=actor,
            action="notifications.channels_saved",
            object_type="group_channels",
            object_id=reviewer_group,
            before=before,
            after=group_channels_snapshot(channels),
        )
    return channels


def secrets_present(channels: GroupChannels | None = None) -> dict[str, bool]:
    """Which secrets the environment holds, as yes or no: their values are never shown."""
    key_env = channels.pagerduty_key_env if channels else ""
    return {
        "slack_bot_token": bool(settings.SLACK_BOT_TOKEN),
        "slack_signing_secret": bool(settings.SLACK_SIGNING_SECRET),
        "pagerduty_key": bool(routing_key_in_env(key_env)),
    }


def group_channels_test(*, channels: GroupChannels) -> list[str]:
    """Send a test message on each configured channel now; what happened, one line each."""
    results = []
    if channels.slack_channel:
        try:
            slack_call(
                "chat_postMessage",
                channel=channels.slack_channel,
                text=f"Tollgate test for {channels.reviewer_group}",
            )
            results.append(f"Slack {channels.slack_channel}: sent")
        except NoticeFailed as exc:
            results.append(f"Slack {channels.slack_channel}: failed ({exc})")
    if channels.emails:
        try:
            send_mail(
                f"[Tollgate] test for {channels.reviewer_group}",
                "This is a test of the reviewer group's e-mail channel.\n",
                from_email=None,
                recipient_list=list(channels.emails),
            )
            results.append(f"E-mail to {len(channels.emails)} addresses: sent")
        except OSError as exc:
            results.append(f"E-mail: failed ({exc})")
    if channels.pagerduty_key_env:
        # A test trigger would page whoever is on call: only say whether the key is there.
        present = secrets_present(channels)["pagerduty_key"]
        results.append(
            f"PagerDuty: {channels.pagerduty_key_env} is {'set' if present else 'NOT set'} in the environment"
        )
    return results or ["No channel is configured."]


def slack_user_link_save(*, actor: User, slack_user_id: str, username: str) -> SlackUserLink:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"no active user {username!r}", field="username")
    if not slack_user_id.isalnum() or len(slack_user_id) > 40:
        raise Invalid("a Slack user id looks like U0123ABCD", field="slack_user_id")
    with transaction.atomic():
        link, _ = SlackUserLink.objects.update_or_create(
            slack_user_id=slack_user_id,
            defaults={"user": user, "linked_by": actor.get_username()[:20], "created_at": clock.now()},
        )
        audit_append(
            actor=actor,
            action="notifications.slack_user_linked",
            object_type="slack_user",
            object_id=slack_user_id,
            after={"user": user.get_username()},
        )
    return link


def slack_user_link_delete(*, actor: User, link_id: int) -> None:
    with transaction.atomic():
        link = SlackUserLink.objects.filter(pk=link_id).select_related("user").first()
        if link is None:
            raise NotFound("no such link")
        audit_append(
            actor=actor,
            action="notifications.slack_user_unlinked",
            object_type="slack_user",
            object_id=link.slack_user_id,
            before={"user": link.user.get_username()},
        )
        link.delete()
