"""Slack's interactions endpoint: verify the signature, then hand the payload to the service."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.http_errors import error_response
from notifications.slack_interactions import (
    MAX_BODY_BYTES,
    BadPayload,
    slack_ephemeral_send,
    slack_interaction_handle,
    slack_payload_parse,
    slack_signature_valid,
)


@csrf_exempt  # Slack signs its requests instead; no session, no cookie
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    if request.content_type != "application/x-www-form-urlencoded":  # what Slack sends
        return error_response(415, "unsupported_media_type", "send application/x-www-form-urlencoded")
    length = request.headers.get("Content-Length") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return error_response(413, "too_large", f"at most {MAX_BODY_BYTES} bytes")
    body = request.body
    valid = slack_signature_valid(
        body=body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
    )
    if not valid:
        return error_response(401, "bad_signature", "the Slack signature is missing, wrong or too old")
    try:
        answer = slack_interaction_handle(slack_payload_parse(body))
    except BadPayload as exc:
        return error_response(400, "invalid", str(exc))
    if answer.ephemeral and answer.channel and answer.user:
        slack_ephemeral_send(channel=answer.channel, user=answer.user, text=answer.ephemeral)
    # Slack ignores the body of a block_actions answer; the ephemeral text is in it for logs and tests.
    return JsonResponse({**answer.body, **({"text": answer.ephemeral} if answer.ephemeral else {})})
