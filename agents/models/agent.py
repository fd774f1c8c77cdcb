from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from agents.models.tool import Trust


class Agent(models.Model):
    """A named agent. Its behaviour lives in immutable versions; edits add a version."""

    name = models.SlugField(max_length=100, unique=True)
    current_version = models.ForeignKey(
        "agents.AgentVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentVersion(models.Model):
    """One immutable configuration of an agent. A session keeps the version it began with."""

    class Status(models.TextChoices):
        # Waiting for the agent's required checks (eval suites): it does not serve new sessions.
        CANDIDATE = "candidate"
        # Passed its checks (or had none) but was created not to serve (created_as_draft): it
        # serves only as a rollout's canary until a promotion or a rollback makes it current.
        DRAFT = "draft"
        # Made current once; it stays so when a later version replaces it (a rollback may select
        # it again). Agent.current_version says which version serves new sessions now.
        CURRENT = "current"
        # Failed a required check: never made current.
        REJECTED = "rejected"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    system_prompt = models.TextField(blank=True)
    model = models.CharField(max_length=200)
    fallback_model = models.CharField(max_length=200, blank=True)
    tools = models.ManyToManyField("agents.Tool", blank=True, related_name="agent_versions")
    max_tokens = models.PositiveIntegerField(default=200_000, help_text="token budget per task")
    max_cost_usd = models.DecimalField(
        max_digits=12, decimal_places=6, default=Decimal("5"), validators=[MinValueValidator(0)]
    )
    max_tool_calls = models.PositiveIntegerField(default=50)
    max_iterations = models.PositiveIntegerField(default=25)
    max_seconds = models.PositiveIntegerField(default=900)
    # Loop detection; null means the global default in settings (LOOP_*, REPEATED_TOOL_CALL_LIMIT).
    loop_threshold = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    loop_window = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    repeat_limit = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(2)])
    # "untrusted" for agents fed by public forms: the task's input taints the session and is scanned.
    input_trust = models.CharField(max_length=10, choices=Trust.choices, default=Trust.TRUSTED)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CURRENT)
    # Created by POST /agents/{name}/versions: passing its checks makes it a draft, not current.
    created_as_draft = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agent", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "number"], name="agent_version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.agent.name} v{self.number}"
