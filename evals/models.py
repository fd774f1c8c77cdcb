"""Eval suites of an agent, their cases, and runs of a suite against one agent version."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models


class EvalSuite(models.Model):
    """A set of cases for one agent. A required suite must pass before a new version is current."""

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="eval_suites")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agent", "name"]
        constraints = [models.UniqueConstraint(fields=["agent", "name"], name="eval_suite_unique_name")]
        indexes = [models.Index(fields=["created_at", "id"], name="eval_suite_created_order")]

    def __str__(self) -> str:
        return f"{self.name} ({self.agent_id})"


class EvalCase(models.Model):
    """One input, the tool results served for it (playback `tool_results`), and its checks."""

    suite = models.ForeignKey(EvalSuite, on_delete=models.CASCADE, related_name="cases")
    name = models.CharField(max_length=200)
    input = models.TextField()
    # Recorded tool results in the shape of Task.playback["tool_results"] (docs/evals.md).
    fixtures = models.JSONField(default=list, blank=True)
    # Tools that run for real in this case instead of being answered from the fixtures.
    live_tools = models.JSONField(default=list, blank=True)
    checks = models.JSONField(default=list, blank=True)
    # The production task this case was made from, if any.
    source_task = models.ForeignKey(
        "agents.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["suite", "name"]
        constraints = [models.UniqueConstraint(fields=["suite", "name"], name="eval_case_unique_name")]
        indexes = [models.Index(fields=["created_at", "id"], name="eval_case_created_order")]

    def __str__(self) -> str:
        return self.name


class EvalRun(models.Model):
    """A suite run against one agent version: one task per case, then every case's checks."""

    class Status(models.TextChoices):
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"
        # A case could not be run or checked (its task was cancelled, a judge did not answer).
        ERROR = "error"

    FINAL_STATUSES = (Status.PASSED, Status.FAILED, Status.ERROR)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    suite = models.ForeignKey(EvalSuite, on_delete=models.CASCADE, related_name="runs")
    agent_version = models.ForeignKey(
        "agents.AgentVersion", on_delete=models.CASCADE, related_name="eval_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # Started because the version is a candidate and the suite is required: its outcome
    # decides the version (evals/services/versions.py).
    gates_version = models.BooleanField(default=False)
    cases_total = models.PositiveIntegerField(default=0)
    cases_passed = models.PositiveIntegerField(default=0)
    cases_failed = models.PositiveIntegerField(default=0)
    cases_errored = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    # The cases' tasks and their judges' calls, exact to 12 places like Task.cost_usd.
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="eval_run_created_order"),
            models.Index(fields=["suite", "agent_version", "-created_at"], name="eval_run_suite_version"),
            models.Index(fields=["status"], name="eval_run_status", condition=models.Q(status="running")),
        ]

    def __str__(self) -> str:
        return f"eval run {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


class EvalCaseResult(models.Model):
    """One case of a run: its task and, once the task ended, each check's outcome."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PASSED = "passed"
        FAILED = "failed"
        ERROR = "error"

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="results")
    case = models.ForeignKey(EvalCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Kept so a run still reads after its case was renamed or deleted.
    case_name = models.CharField(max_length=200)
    task = models.OneToOneField(
        "agents.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="eval_result"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The case's check specs when the run started (a case edited meanwhile does not change it).
    check_specs = models.JSONField(default=list)
    # [{"check": index, "kind", "name", "passed", "error", "detail"}, ...] once checked.
    checks = models.JSONField(default=list)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    # The task's cost plus its judges'.
    cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    judge_cost_usd = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal("0"))
    latency_ms = models.FloatField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    # While pending: a run of the checks holds the case until check_lease_until (claimed at
    # check_claimed_at), or, with no claim, the sweeper awaits the message it re-sent until then
    # (evals/services/check_lease.py).
    check_claimed_at = models.DateTimeField(null=True, blank=True)
    check_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "case_name"]
        constraints = [models.UniqueConstraint(fields=["run", "case_name"], name="eval_result_unique_case")]
        indexes = [
            models.Index(fields=["run"], name="eval_result_pending", condition=models.Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"{self.case_name} in {self.run_id} ({self.status})"
