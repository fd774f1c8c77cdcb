"""The action an owner asked under an idempotency key, read for a repeated ask.

Asking again with a key already used is ordinary traffic (a network retry, an agent that
restarted), so its answer must cost no more than a new action's, or cheap repeats could load
the server more than asks. Through the ORM, the lookup by key and then the action with its
request, task, session and agent (select_related) cost more CPU to compile than a whole new
allow answer; here one prepared statement reads the action with exactly what its answer shows
(approvals/external/answer.py): its request and who decided it, its session's id and its
agent's name. The rest of its task, session and agent is left deferred (read on access).
"""

from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model

from agents.models import Agent, Session, Task
from approvals.models import ActionRequest, ExternalAction
from core.raw_rows import prepared_cursor, row_columns, row_instance, row_table

M = TypeVar("M", bound=Model)


def external_action_keyed(*, owner_id: int, idempotency_key: str) -> ExternalAction | None:
    """The action `owner_id` asked under `idempotency_key`, with what its answer reads."""
    with prepared_cursor() as cursor:
        cursor.execute(_KEYED, [owner_id, idempotency_key])
        row = cursor.fetchone()
    if row is None:
        return None
    action_end = len(ExternalAction._meta.concrete_fields)
    request_end = action_end + len(ActionRequest._meta.concrete_fields)
    decider_end = request_end + len(User._meta.concrete_fields)
    action = row_instance(ExternalAction, row[:action_end])
    request_row, decider_row = row[action_end:request_end], row[request_end:decider_end]
    session_id, external_id, agent_id, agent_name = row[decider_end:]
    if request_row[_REQUEST_PK] is not None:
        request = row_instance(ActionRequest, request_row)
        if decider_row[_USER_PK] is not None:
            request.decided_by = row_instance(User, decider_row)
        action.request = request
    session = _loaded(Session, id=session_id, external_id=external_id, agent_id=agent_id)
    session.agent = _loaded(Agent, id=agent_id, name=agent_name)
    task = _loaded(Task, id=action.task_id, session_id=session_id)
    task.session = session
    action.task = task
    return action


def _loaded(model: type[M], **values: Any) -> M:
    """An instance of `model` with only these fields loaded, as a deferring query makes it."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


_REQUEST_PK = ActionRequest._meta.concrete_fields.index(ActionRequest._meta.pk)
_USER_PK = User._meta.concrete_fields.index(User._meta.pk)
# At most one row: the key is unique per owner (a partial unique index, which the equality on
# the key lets PostgreSQL use); each join follows a foreign key.
_KEYED = f"""SELECT {row_columns(ExternalAction, "a")}, {row_columns(ActionRequest, "r")},
{row_columns(User, "u")}, s.id, s.external_id, s.agent_id, g.name
FROM {row_table(ExternalAction)} a
JOIN {row_table(Task)} t ON t.id = a.task_id
JOIN {row_table(Session)} s ON s.id = t.session_id
JOIN {row_table(Agent)} g ON g.id = s.agent_id
LEFT JOIN {row_table(ActionRequest)} r ON r.id = a.request_id
LEFT JOIN {row_table(User)} u ON u.id = r.decided_by_id
WHERE a.owner_id = %s AND a.idempotency_key = %s
"""  # noqa: S608 - table and column names from the models; the values are bound
