from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from core.tiers import RiskTier

DEFAULT_REVIEWER_GROUP = "reviewers"


class PolicyRule(models.Model):
    """One rule of the risk policy: which calls it matches and the tier and terms it gives them.

    Rules are matched highest `priority` first (ties: oldest first); the first match decides.
    A call no rule matches gets its tool's default tier.
    """

    tool = models.CharField(max_length=200, help_text="glob on the tool's name, e.g. issue_* or *")
    agent = models.CharField(max_length=100, blank=True, help_text="an agent's name; empty for any agent")
    condition = models.TextField(
        blank=True,
        help_text="CEL on `args`, `tool`, `agent`, `tier`, `session` and `unseen_addresses`; empty: always",
    )
    tier = models.CharField(max_length=10, choices=RiskTier.choices)
    delay_s = models.PositiveIntegerField(default=300, help_text="medium: seconds before it runs by itself")
    approvals_required = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    reviewer_group = models.CharField(max_length=150, default=DEFAULT_REVIEWER_GROUP)
    expiry_s = models.PositiveIntegerField(
        null=True, blank=True, help_text="high: seconds until an undecided request expires (= rejected)"
    )
    sla_s = models.PositiveIntegerField(null=True, blank=True, help_text="escalate when pending this long")
    priority = models.IntegerField(default=0)
    # A raise rule is matched after the others have decided, sees their tier as `tier`, and can
    # only lift the call to its own tier (docs/injection.md: the taint rules are raise rules).
    raise_only = models.BooleanField(
        default=False, help_text="only raises: matched after the other rules, never lowers their tier"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"rule {self.pk}: {self.tool} → {self.tier}"


class PolicyVersion(models.Model):
    """A numbered snapshot of the whole policy (rules and tools' tiers), one per change."""

    number = models.PositiveIntegerField(unique=True)
    snapshot = models.JSONField(default=dict)
    summary = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"policy v{self.number}"
