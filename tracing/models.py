from django.db import models


class Trace(models.Model):
    """One trace per task; its id is the OpenTelemetry trace id (32 hex digits)."""

    trace_id = models.CharField(max_length=32, unique=True)
    task = models.OneToOneField("agents.Task", on_delete=models.CASCADE, related_name="trace")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"trace {self.trace_id}"


class Span(models.Model):
    """A timed unit of work with OpenTelemetry GenAI attributes (model call, tool call, ...)."""

    class Kind(models.TextChoices):
        AGENT = "agent"
        MODEL = "model"
        TOOL = "tool"
        GUARDRAIL = "guardrail"
        WAIT = "wait"

    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"

    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="spans")
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    step_index = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    duration_ms = models.FloatField()
    attributes = models.JSONField(default=dict)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["trace", "started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["trace", "span_id"], name="span_unique_in_trace")]
        indexes = [models.Index(fields=["trace", "started_at", "id"], name="span_trace_order")]

    def __str__(self) -> str:
        return self.name
