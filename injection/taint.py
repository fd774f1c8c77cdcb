"""A session's taint: whether untrusted text entered its context, whether a detector fired, and
which sources brought it; and what of it the risk policy sees."""

import json
import re
from typing import Any

from django.db import connection

from agents.guards.context import SUMMARY_PREFIX
from agents.models import Session, Task
from agents.models.tool import Trust

# Taint only ever turns on: one statement sets the flags and adds the source once, so two calls
# of one session tainting it at once (parallel tool calls, two workers) lose nothing. A session
# already tainted so is not written again (no row version, no WAL flush per untrusted result).
_TAINT = """
UPDATE agents_session SET
    tainted = TRUE,
    suspicious = suspicious OR %(suspicious)s,
    taint_sources = CASE WHEN %(source)s = ANY(taint_sources) THEN taint_sources
                         ELSE array_append(taint_sources, %(source)s::varchar) END
WHERE id = %(session)s
  AND (NOT tainted OR (%(suspicious)s AND NOT suspicious) OR NOT %(source)s = ANY(taint_sources))
"""

# URLs and e-mail addresses, as a model would write them into a tool's arguments.
_URL = re.compile(r"\b(?:https?|ftp)://[^\s\"'<>()\[\]{}|\\^`]+", re.I)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")
# Arguments above this many characters are searched only in their head (bounded work per call).
MAX_ARGUMENT_CHARS = 100_000
MAX_ADDRESSES = 50
# An external session's trusted text: its latest reported results of trusted tools, this many,
# each's head only (MAX_ARGUMENT_CHARS), and this many characters in all. A result may be as
# large as a request body (2.5 MB): these bound what one ask reads and searches.
MAX_REPORTED_RESULTS = 200
MAX_REPORTED_CHARS = 1_000_000

# Filtered and cut by PostgreSQL, so no untrusted result and no result's tail leaves the server;
# `before` is the length of the latest results' heads ahead of this one, for the overall cap.
# The heads are cut from the latest rows only: the limited subquery sorts the results' stored
# values (a large one is a TOAST pointer, not its text), and OFFSET 0 keeps the heads' level
# from being merged into the window's, which would compute each head more than once.
_REPORTED_TRUSTED = """
SELECT left(head, %(total)s - before) FROM (
    SELECT head, (sum(length(head)) OVER (ORDER BY reported_at DESC, id))::int - length(head) AS before
    FROM (
        SELECT left(result::text, %(head)s) AS head, reported_at, id
        FROM (
            SELECT result, reported_at, id
            FROM approvals_externalaction
            WHERE task_id = %(task)s AND reported_at IS NOT NULL AND result IS NOT NULL
              AND tool_name IN (SELECT name FROM agents_tool WHERE trust = %(trusted)s)
            ORDER BY reported_at DESC, id
            LIMIT %(count)s
        ) latest
        OFFSET 0
    ) heads
) counted
WHERE before < %(total)s
ORDER BY before
"""


def session_taint(*, session_id: Any, source: str, suspicious: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TAINT, {"session": session_id, "source": source[:64], "suspicious": suspicious})


def addresses_in(text: str) -> set[str]:
    """The URLs and e-mail addresses in `text`, lower-cased, trailing punctuation dropped."""
    found = {match.group(0).rstrip(".,;:!?").lower() for match in _URL.finditer(text)}
    found |= {match.group(0).lower() for match in _EMAIL.finditer(text)}
    return found


def _trusted_text(task: Task, trust_of: dict[str, str], *, input_trusted: bool, system_prompt: str) -> str:
    """The session's text from trusted sources: the system prompt, the user's input when the
    agent trusts it, and the results of trusted tools."""
    parts = [system_prompt]
    tool_of_call: dict[str, str] = {}
    for message in task.messages:
        role = message.get("role")
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                tool_of_call[str(call.get("id"))] = str((call.get("function") or {}).get("name"))
        elif role == "user" and input_trusted:
            content = str(message.get("content") or "")
            # A context summary (agents/guards/context.py) mixes in what untrusted tools said.
            if not content.startswith(SUMMARY_PREFIX):
                parts.append(content)
        elif role == "tool":
            name = tool_of_call.get(str(message.get("tool_call_id")), "")
            if trust_of.get(name) == Trust.TRUSTED:
                parts.append(str(message.get("content") or ""))
    if input_trusted:
        parts.append(task.input)  # this task's own input, even where a summary replaced the turn
    return "\n".join(parts)


def unseen_addresses(task: Task, arguments: dict[str, Any]) -> list[str]:
    """The URLs and e-mail addresses in the arguments that appear in no trusted text of the session."""
    try:
        text = json.dumps(arguments, ensure_ascii=False)[:MAX_ARGUMENT_CHARS]
    except (TypeError, ValueError, RecursionError):
        return []
    wanted = addresses_in(text)
    if not wanted:
        return []
    version = task.session.agent_version
    trust_of = dict(version.tools.values_list("name", "trust"))
    trusted = _trusted_text(
        task,
        trust_of,
        input_trusted=version.input_trust == Trust.TRUSTED,
        system_prompt=version.system_prompt,
    )
    if task.status == Task.Status.EXTERNAL:
        trusted += "\n" + _reported_trusted_text(task)
    trusted = trusted.lower()
    return sorted(address for address in wanted if address not in trusted)[:MAX_ADDRESSES]


def _reported_trusted_text(task: Task) -> str:
    """An external session's trusted tool results: what its agent reported (the gate API) of
    the calls of trusted tools, the latest MAX_REPORTED_RESULTS, each's head only, as JSON."""
    with connection.cursor() as cursor:
        cursor.execute(
            _REPORTED_TRUSTED,
            {
                "task": task.pk,
                "trusted": Trust.TRUSTED.value,
                "count": MAX_REPORTED_RESULTS,
                "head": MAX_ARGUMENT_CHARS,
                "total": MAX_REPORTED_CHARS,
            },
        )
        return "\n".join(head for (head,) in cursor.fetchall())


def session_facts(session: Session) -> dict[str, Any]:
    """`session` as CEL conditions see it."""
    return {
        "tainted": session.tainted,
        "suspicious": session.suspicious,
        "taint_sources": list(session.taint_sources),
    }
