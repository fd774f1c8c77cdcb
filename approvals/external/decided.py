"""When people (or the clock) decide an external action: wake its waiting callers, write the
wait to the trace, and send the signed callback if the caller registered one."""

import uuid

from approvals.external.signal import decision_signal
from approvals.external.spans import wait_span_write
from approvals.models import ExternalAction


def external_action_decided(*, request_id: uuid.UUID) -> None:
    """After the decision committed; a request of the runtime's own calls has no ExternalAction."""
    action = (
        ExternalAction.objects.select_related("request", "task__trace").filter(request_id=request_id).first()
    )
    if action is None or action.request is None:
        return
    decision_signal(request_id=request_id)  # first: the waiting callers need nothing else
    request = action.request
    wait_span_write(
        action=action, status=str(request.status), decided_at=request.decided_at or request.created_at
    )
    if action.callback_url:
        from approvals.tasks import external_callback

        external_callback.delay(str(action.id))
