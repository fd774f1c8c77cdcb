"""Writing and deleting memories."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from agents.embeddings.registry import embedder
from agents.models import Agent, Memory, Session
from core import clock
from core.errors import NotFound

MAX_MEMORY_CHARS = 2000


@dataclass(frozen=True)
class MemoryAuthor:
    """Who writes a memory; it decides which sessions may have it recalled (see Memory)."""

    provenance: Memory.Provenance
    user_id: int | None
    end_user: str = ""

    @classmethod
    def admin(cls, user: AbstractBaseUser) -> "MemoryAuthor":
        return cls(Memory.Provenance.ADMIN, user.pk)

    @classmethod
    def end_user_of(cls, session: Session) -> "MemoryAuthor":
        return cls(Memory.Provenance.AGENT, session.owner_id, session.end_user)


def memory_create(
    *,
    agent: Agent,
    text: str,
    author: MemoryAuthor,
    session_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    step_index: int | None = None,
    source_key: str | None = None,
) -> Memory:
    """Embed and store `text` for the agent (or only for one of its sessions), as `author`'s.

    With a `source_key` (a tool call's idempotency key) the same call stores once: a
    redelivered step gets the first memory back.
    """
    model = embedder()
    vector = model.embed([text])[0]
    literal = "[" + ",".join(repr(float(x)) for x in vector) + "]"
    with connection.cursor() as cursor:
        # The unique key, not a prior lookup, decides between two deliveries of one call.
        cursor.execute(
            """
            INSERT INTO agents_memory
                (agent_id, session_id, task_id, step_index, source_key, text, provenance,
                 written_by_id, end_user, model, dimensions, embedding, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector, %s)
            ON CONFLICT (source_key) DO NOTHING
            RETURNING id
            """,
            [
                agent.pk,
                session_id,
                task_id,
                step_index,
                source_key,
                text,
                author.provenance,
                author.user_id,
                author.end_user,
                model.name,
                model.dimensions,
                literal,
                clock.now(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return Memory.objects.get(source_key=source_key)
    return Memory.objects.get(pk=row[0])


def memory_delete(*, agent: Agent, memory_id: int) -> None:
    deleted, _ = Memory.objects.filter(agent=agent, pk=memory_id).delete()
    if not deleted:
        raise NotFound(f"agent {agent.name!r} has no memory {memory_id}", field="id")
