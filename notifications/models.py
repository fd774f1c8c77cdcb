"""Notification channels per reviewer group, sent notices, Slack cards and links, e-mail links."""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.tiers import RiskTier


class GroupChannels(models.Model):
    """Where one reviewer group's requests are announced. Secrets stay in the environment."""

    class Event(models.TextChoices):
        CREATED = "created", "A request is created"
        ESCALATED = "escalated", "A request waits past its SLA"

    reviewer_group = models.CharField(max_length=150, unique=True)
    slack_channel = models.CharField(max_length=80, blank=True, help_text="Slack channel id, e.g. C0123ABCD")
    # Also a card in a direct message to each member of the group with a linked Slack user.
    slack_dm_members = models.BooleanField(default=False)
    emails = ArrayField(models.EmailField(), default=list, blank=True)
    # The name of an environment variable holding the PagerDuty routing key, never the key.
    pagerduty_key_env = models.CharField(max_length=64, blank=True)
    tiers = ArrayField(models.CharField(max_length=10, choices=RiskTier.choices), default=list, blank=True)
    events = ArrayField(models.CharField(max_length=10, choices=Event.choices), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"channels of {self.reviewer_group}"


class Notice(models.Model):
    """One outbound notice, keyed so it exists once; claimed by a conditional update before sending."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        SENT = "sent"
        FAILED = "failed"  # the last attempt failed; a retry may claim it again
        GAVE_UP = "gave_up"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    # What it is about: an action request's id or an alert's id.
    subject = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Every request event asks whether a card or a trigger went out about it.
            models.Index(fields=["subject", "kind"], name="notice_subject"),
            # The sweeper's scan for pending notices whose message was lost.
            models.Index(fields=["status", "created_at"], name="notice_status"),
        ]

    def __str__(self) -> str:
        return f"notice {self.key} ({self.status})"


class SlackCard(models.Model):
    """A message announcing a request in a channel or a DM, updated in place after every change."""

    request = models.ForeignKey(
        "approvals.ActionRequest", on_delete=models.CASCADE, related_name="slack_cards"
    )
    channel = models.CharField(max_length=80)
    ts = models.CharField(max_length=40)
    posted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "channel"], name="slack_card_per_channel")]

    def __str__(self) -> str:
        return f"slack card {self.channel}/{self.ts}"


class SlackUserLink(models.Model):
    """Which Tollgate user a Slack user acts as: found by verified e-mail, editable by admins."""

    slack_user_id = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    linked_by = models.CharField(max_length=20, default="email")  # "email" or an admin's username
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"slack {self.slack_user_id} -> {self.user_id}"


class EmailLink(models.Model):
    """A one-click decision link: one recipient, one request version, one use, the request's lifetime."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey("approvals.ActionRequest", on_delete=models.CASCADE, related_name="+")
    recipient = models.EmailField()
    decision = models.CharField(max_length=10)
    version = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.decision} link for {self.recipient} (v{self.version})"
