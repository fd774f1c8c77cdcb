from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from core.tiers import RiskTier


class Trust(models.TextChoices):
    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"


class InjectionAction(models.TextChoices):
    FLAG = "flag"  # record the detection and taint the session; the model sees the result
    QUARANTINE = "quarantine"  # the model sees a schema-constrained summary instead
    BLOCK = "block"  # the result is withheld; the model gets a structured error


# The function-name rule shared by OpenAI's and Anthropic's tool calling.
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"


class Tool(models.Model):
    """Something an agent may call: an HTTP endpoint or a registered Python function."""

    class Kind(models.TextChoices):
        HTTP = "http"
        PYTHON = "python"
        # Named by an agent that runs elsewhere (the gate API); Tollgate never calls it.
        EXTERNAL = "external"

    class Method(models.TextChoices):
        GET = "GET"
        POST = "POST"
        PUT = "PUT"
        PATCH = "PATCH"
        DELETE = "DELETE"

    name = models.CharField(max_length=64, unique=True, validators=[RegexValidator(TOOL_NAME_PATTERN)])
    description = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, help_text="JSON Schema of the arguments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HTTP)
    url = models.URLField(max_length=2000, blank=True)
    method = models.CharField(max_length=6, choices=Method.choices, default=Method.POST)
    timeout_s = models.FloatField(default=10.0, validators=[MinValueValidator(0.1)])
    # True only when the tool deduplicates requests by their Idempotency-Key header: only then
    # (or for an idempotent method) may a POST/PATCH be sent again after a timeout or a crash.
    honours_idempotency_key = models.BooleanField(
        default=False, help_text="the tool applies a request's effect once per Idempotency-Key"
    )
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, default=RiskTier.LOW)
    # Prompt-injection defence (docs/injection.md): an untrusted tool's results are scanned,
    # taint the session and reach the model delimited as data; `injection_action` says what
    # happens to a result a detector flagged.
    trust = models.CharField(max_length=10, choices=Trust.choices, default=Trust.UNTRUSTED)
    injection_action = models.CharField(
        max_length=10, choices=InjectionAction.choices, default=InjectionAction.FLAG
    )
    # Undo (docs/undo.md): the tool that reverses this one's effect, and its arguments as CEL
    # expressions over the original call's final `args` and its `result` (a ToolResult dict),
    # e.g. {"refund_id": "result.data.refund_id"}. A tool without one is irreversible.
    compensation = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="compensates"
    )
    compensation_arguments = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
