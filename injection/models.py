"""A detection: a scanned text (an untrusted tool's result, or a task's untrusted input) that a
detector flagged, with every detector's verdict and what was done about it."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from agents.models.tool import InjectionAction

INPUT_SOURCE = "input"  # the source name of a task's own input (not a tool)


class Detection(models.Model):
    session = models.ForeignKey("agents.Session", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="+")
    # The tool call that brought the text; -1 for the task's input.
    step_index = models.IntegerField()
    call_index = models.IntegerField()
    source = models.CharField(max_length=64, help_text="the tool's name, or 'input'")
    agent_name = models.CharField(max_length=100)
    score = models.FloatField()
    detectors = ArrayField(models.CharField(max_length=100), default=list)
    # The findings as the engine gave them: detector, score, snippet, start, end (at most 20).
    findings = models.JSONField(default=list)
    snippet = models.CharField(max_length=200, help_text="the highest-scoring finding's text, inert")
    action = models.CharField(max_length=10, choices=InjectionAction.choices)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A redelivered step scans the same result again; the key keeps one row.
            models.UniqueConstraint(fields=["task", "step_index", "call_index"], name="detection_unique_call")
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="detection_recent"),
            models.Index(fields=["source", "-created_at"], name="detection_source_recent"),
            models.Index(fields=["session", "-created_at"], name="detection_session_recent"),
            GinIndex(fields=["detectors"], name="detection_detectors"),
        ]

    def __str__(self) -> str:
        return f"detection in {self.source} ({self.score:.2f})"


class ScannedOutput(models.Model):
    """The verdict on one tool output of an external session, by the SHA-256 of its text and of
    the external classifier that judged it: the same output met again in that session (reported
    through the gate API and exported over OTLP, or in two exports) reuses it while that
    classifier is configured, rather than asking the detectors and the classifier again
    (injection/reported.py)."""

    session = models.ForeignKey("agents.Session", on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)
    score = models.FloatField()
    flagged = models.BooleanField()
    # Every finding as the engine gave it: detector, score, snippet, start, end.
    findings = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "digest"], name="scanned_output_unique_digest")
        ]

    def __str__(self) -> str:
        return f"scanned output {self.digest[:12]} ({self.score:.2f})"
