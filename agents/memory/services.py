"""Writing and deleting memories."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from agents.embeddings.base import vector_literal
from agents.embeddings.registry import embedder
from agents.models import Agent, Memory, Session
from core import clock
from core.audit_log import audit_record
from core.errors import NotFound

MAX_MEMORY_CHARS = 2000


@dataclass(frozen=True)
class MemoryAuthor:
    """Who writes a memory; it decides which sessions may have it recalled (see Memory)."""

    provenance: Memory.Provenance
    user_id: int | None
    end_user: str = ""
    # The admin writing by hand, for the audit entry; an agent's own writes are not audited.
    audited_as: AbstractBaseUser | None = None

    @classmethod
    def admin(cls, user: AbstractBaseUser) -> "MemoryAuthor":
        return cls(Memory.Provenance.ADMIN, user.pk, audited_as=user)

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
    literal = vector_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
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
        if row is not None and author.audited_as is not None:
            audit_record(
                actor=author.audited_as,
                action="memory.created",
                object_type="memory",
                object_id=str(row[0]),
                after={"agent": agent.name, "session": session_id, "text": text},
            )
    if row is None:
        return Memory.objects.get(source_key=source_key)
    return Memory.objects.get(pk=row[0])


@transaction.atomic
def memory_delete(*, actor: AbstractBaseUser, agent: Agent, memory_id: int) -> None:
    """An admin deletes one of the agent's memories (audited)."""
    memory = Memory.objects.filter(agent=agent, pk=memory_id).only("id", "text", "session_id").first()
    if memory is None:
        raise NotFound(f"agent {agent.name!r} has no memory {memory_id}", field="id")
    before = {"agent": agent.name, "session": memory.session_id, "text": memory.text}
    memory.delete()
    audit_record(
        actor=actor, action="memory.deleted", object_type="memory", object_id=str(memory_id), before=before
    )
