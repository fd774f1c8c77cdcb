"""pgvector rows: the embedding of every model output (loop detection) and memories.

Vectors are stored without a fixed dimension, beside the name of the model that made them
and their dimension, so that a change of EMBEDDING_PROVIDER never compares vectors of two
models. The HNSW indexes are partial expression indexes on `embedding::vector(<dims>)` for
the configured dimension (migration 0005); queries use the same expression so they can use them.
Only memories have one: loop detection reads a session's latest outputs by the session's
btree index, never by similarity across sessions, so an HNSW index on the outputs cost every
step a graph insertion for no reader (dropped in agents migration 0018).
"""

from django.conf import settings
from django.db import models
from pgvector.django import VectorField


class OutputEmbedding(models.Model):
    """The embedding of one model output (its text and tool-call intent)."""

    # No index of their own: output_embedding_recent and output_embedding_unique_step lead with
    # them, and every step writes a row here (each index is a write).
    session = models.ForeignKey("agents.Session", on_delete=models.CASCADE, related_name="+", db_index=False)
    task = models.ForeignKey("agents.Task", on_delete=models.CASCADE, related_name="+", db_index=False)
    # The step that produced the output; -1 is the previous task's final answer, which is
    # embedded by the next task of the session.
    step_index = models.IntegerField()
    model = models.CharField(max_length=200)
    dimensions = models.PositiveSmallIntegerField()
    embedding = VectorField()
    # Short hashes of the values in the tool results that answered the output (not counting
    # values echoed from the call's own arguments): a repeat that brings back no new value
    # taught the model nothing, one that does (the next page, a job's progress) is progress.
    result_values = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # A redelivered step embeds the same output again; the key keeps one row.
            models.UniqueConstraint(fields=["task", "step_index"], name="output_embedding_unique_step")
        ]
        indexes = [models.Index(fields=["session", "-id"], name="output_embedding_recent")]

    def __str__(self) -> str:
        return f"output of step {self.step_index} of task {self.task_id}"


class Memory(models.Model):
    """A fact an agent keeps: for one session, or (no session) for all of the agent's sessions.

    Who wrote it decides who may have it recalled: an agent-wide memory an admin wrote reaches
    every session, one an agent wrote reaches only the sessions of the end user it was talking
    to (the same account and end user), so one end user's words never reach another's context.
    """

    class Provenance(models.TextChoices):
        ADMIN = "admin"  # over the API or the console, by an admin
        AGENT = "agent"  # by an agent's `remember` call, in an end user's session

    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="memories")
    session = models.ForeignKey(
        "agents.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="memories"
    )
    # Where it came from: the task and step of a `remember` call; none when written over the API.
    task = models.ForeignKey(
        "agents.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    step_index = models.IntegerField(null=True, blank=True)
    # The tool call's idempotency key: a redelivered `remember` stores its fact once.
    source_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    text = models.TextField()
    # A database default: rows written without one (COPY, raw INSERT) are never shared.
    provenance = models.CharField(max_length=10, choices=Provenance.choices, db_default=Provenance.AGENT)
    # The admin who wrote it, or the account whose session the agent wrote it in.
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # That session's end user ("" when the account is its own end user).
    end_user = models.CharField(max_length=200, blank=True, db_default="")
    model = models.CharField(max_length=200)
    dimensions = models.PositiveSmallIntegerField()
    embedding = VectorField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["agent", "session"], name="memory_scope"),
            # The memories page and the REST list: an agent's newest first, a page at a time,
            # without sorting all the agent has gathered.
            models.Index(fields=["agent", "-created_at", "-id"], name="memory_agent_recent"),
        ]

    def __str__(self) -> str:
        return self.text[:60]
