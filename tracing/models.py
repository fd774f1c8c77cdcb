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

    # No index of its own: span_unique_in_trace and span_trace_order lead with it.
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="spans", db_index=False)
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
        indexes = [
            models.Index(fields=["trace", "started_at", "id"], name="span_trace_order"),
            # Alert rules and cost pages read recent spans of one kind across all traces.
            models.Index(fields=["kind", "started_at"], name="span_kind_time"),
        ]

    def __str__(self) -> str:
        return self.name


class AlertRule(models.Model):
    """One of the five operator alerts, with the threshold an admin may edit in the console."""

    class Kind(models.TextChoices):
        TOOL_ERROR_RATE = "tool_error_rate", "Tool error rate"
        BUDGET_BURN = "budget_burn", "Daily budget burn"
        STUCK_SESSIONS = "stuck_sessions", "Stuck sessions"
        COST_OUTLIERS = "cost_outliers", "Cost per session outliers"
        INJECTION_SPIKE = "injection_spike", "Prompt injection spike"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    threshold = models.DecimalField(max_digits=12, decimal_places=4)
    window_s = models.PositiveIntegerField()
    # Fewer observations than this never fire: 1 error in 2 calls is not a 50% error rate.
    min_samples = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_kind_display()


class Alert(models.Model):
    """One firing of a rule for one subject (a tool, "cost", ...), from firing to resolved."""

    class State(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FIRING)
    value = models.DecimalField(max_digits=20, decimal_places=6)
    detail = models.TextField()
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Two beat evaluations racing can never open two firings of the same thing.
            models.UniqueConstraint(
                fields=["rule", "subject"], condition=models.Q(state="firing"), name="alert_one_firing"
            )
        ]
        indexes = [
            models.Index(fields=["-fired_at"], name="alert_recent"),
            # The alerts page: the firing ones, then the newest resolved, without sorting them all.
            models.Index(fields=["state", "-fired_at"], name="alert_state_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject} {self.state}"
