"""Reading memories: the top-k most similar to a text, and lists for admins."""

import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import QuerySet

from agents.embeddings.base import vector_literal
from agents.embeddings.registry import embedder
from agents.models import Memory, Session


@dataclass(frozen=True)
class Recalled:
    id: int
    text: str
    similarity: float


def memory_recall(*, agent_id: int, session: Session | None, query: str, k: int) -> list[Recalled]:
    """The `k` memories most similar to `query` among those the session may see: the agent's
    own, and of those the ones of this session, the agent-wide ones an admin wrote, and the
    agent-wide ones written in a session of the same end user (account and end user). The
    scope is a WHERE clause, applied before ranking, so one agent never sees another's
    memories, nor one end user another's, whatever the index returns. Without a session:
    the admin-written agent-wide ones."""
    if k <= 0:
        return []
    model = embedder()
    literal = vector_literal(model.embed([query])[0])
    dims = int(model.dimensions)
    # `dimensions = <literal>` and the cast match the partial HNSW index of migration 0004.
    sql = f"""
        SELECT id, text, 1 - (embedding::vector({dims}) <=> %s::vector({dims}))
        FROM agents_memory
        WHERE dimensions = {dims} AND model = %s AND agent_id = %s
          AND (
            session_id = %s
            OR (session_id IS NULL AND (provenance = %s OR (written_by_id = %s AND end_user = %s)))
          )
        ORDER BY embedding::vector({dims}) <=> %s::vector({dims})
        LIMIT %s
    """  # noqa: S608  (dims is an int; every value is a parameter)
    with transaction.atomic(), connection.cursor() as cursor:
        # With a filter, an HNSW scan may find fewer than k rows that pass it; iterative
        # scanning (pgvector 0.8) keeps going until k are found, in exact distance order.
        cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        scope = [
            session.pk if session else None,
            Memory.Provenance.ADMIN,
            session.owner_id if session else None,
            session.end_user if session else "",
        ]
        cursor.execute(sql, [literal, model.name, agent_id, *scope, literal, k])
        rows = cursor.fetchall()
    return [Recalled(id=row[0], text=row[1], similarity=float(row[2])) for row in rows]


def memories_of(*, agent_id: int, session_id: uuid.UUID | None = None) -> QuerySet[Memory]:
    """An agent's memories (of one session, if given), unordered, without their vectors."""
    memories = Memory.objects.filter(agent_id=agent_id).defer("embedding")
    if session_id is not None:
        memories = memories.filter(session_id=session_id)
    return memories
