"""A rollout: new sessions of an agent split between its current version and a canary."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Bounds of what an admin may set: a percent that splits, multiples that can be passed, and a
# minimum sample a judgment needs.
MIN_PERCENT, MAX_PERCENT = 1, 99
MIN_MULTIPLE, MAX_MULTIPLE = Decimal("1"), Decimal("100")
MAX_MIN_TASKS = 100_000


class Rollout(models.Model):
    """`percent` of an agent's new sessions run `canary`, the others `baseline` (the version that
    was current when it started); each session keeps the arm it drew (Session.rollout_arm).

    It ends once, by a conditional update on `status`: promoted (the canary becomes current),
    or rolled back (the baseline stays current) by a person or by the judge, when the canary's
    failure rate or cost per task passes its multiple of the baseline's (agents/rollouts/judge.py).
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        PROMOTED = "promoted"
        ROLLED_BACK = "rolled_back"

    class Arm(models.TextChoices):
        BASELINE = "baseline"
        CANARY = "canary"

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="rollouts")
    baseline = models.ForeignKey("agents.AgentVersion", on_delete=models.PROTECT, related_name="+")
    canary = models.ForeignKey("agents.AgentVersion", on_delete=models.PROTECT, related_name="+")
    percent = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_PERCENT), MaxValueValidator(MAX_PERCENT)],
        help_text="the share of new sessions that run the canary",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # Roll back automatically once the canary has `min_tasks` finished tasks and its failure
    # rate, or its cost per task, is more than this many times the baseline's.
    failure_rate_multiple = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("2.0"),
        validators=[MinValueValidator(MIN_MULTIPLE), MaxValueValidator(MAX_MULTIPLE)],
    )
    cost_multiple = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("1.5"),
        validators=[MinValueValidator(MIN_MULTIPLE), MaxValueValidator(MAX_MULTIPLE)],
    )
    min_tasks = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(MAX_MIN_TASKS)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    # How it ended; ended_by is null when the judge rolled it back.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"], condition=models.Q(status="active"), name="rollout_one_active_per_agent"
            ),
            models.CheckConstraint(
                condition=models.Q(percent__gte=MIN_PERCENT, percent__lte=MAX_PERCENT),
                name="rollout_percent_splits",
            ),
            models.CheckConstraint(
                condition=~models.Q(baseline=models.F("canary")), name="rollout_two_versions"
            ),
        ]

    def __str__(self) -> str:
        return f"rollout {self.pk} of {self.agent_id} ({self.status})"
