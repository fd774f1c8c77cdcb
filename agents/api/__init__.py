"""REST routes for tools, agents, memories, sessions and tasks; mounted on the API in console/api.py."""

from django.contrib.auth.models import User
from django.http import HttpRequest


def request_user(request: HttpRequest) -> User:
    """The user whose API token authenticated the request (console.api.TokenAuth)."""
    return request.auth  # type: ignore[attr-defined]
