"""Calls to Slack's Web API through the official slack-sdk, at SLACK_API_URL.

The client retries connection errors and honours a 429's Retry-After (slack-sdk's retry handlers)
before a failure reaches the notice, which then retries with its own backoff.
"""

import logging
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from notifications.notices import NoticeFailed

logger = logging.getLogger(__name__)
TIMEOUT_S = 5
# Answers that another attempt cannot change.
PERMANENT_ERRORS = {"channel_not_found", "not_in_channel", "invalid_auth", "account_inactive", "is_archived"}


def slack_web_client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=TIMEOUT_S,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def slack_call(method: str, **params: Any) -> dict[str, Any]:
    """One Web API method by its slack-sdk name (`chat_postMessage`); its answer, or NoticeFailed
    saying whether another attempt may help."""
    try:
        response = getattr(slack_web_client(), method)(**params)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        raise NoticeFailed(f"slack {method}: {error or exc}", retry=error not in PERMANENT_ERRORS) from exc
    except (SlackClientError, OSError) as exc:
        raise NoticeFailed(f"slack {method}: {exc}") from exc
    return dict(response.data) if isinstance(response.data, dict) else {}


def slack_ephemeral(*, channel: str, user: str, text: str) -> None:
    """An answer only `user` sees in `channel`; a failure is only logged (the click changed nothing)."""
    try:
        slack_call("chat_postEphemeral", channel=channel, user=user, text=text)
    except NoticeFailed as exc:
        logger.warning("slack ephemeral answer to %s failed: %s", user, exc)


def slack_user_email(*, slack_user_id: str) -> str | None:
    """The Slack user's e-mail address if Slack says it is confirmed (scope users:read.email)."""
    try:
        user = slack_call("users_info", user=slack_user_id).get("user") or {}
    except NoticeFailed as exc:
        logger.warning("slack users.info for %s failed: %s", slack_user_id, exc)
        return None
    email = (user.get("profile") or {}).get("email")
    if not user.get("is_email_confirmed") or not isinstance(email, str):
        return None
    return email
