"""The one error shape every JSON endpoint answers with: {"error": {"code", "message", "field"?, ...}}."""

from typing import Any

from django.http import JsonResponse


def error_response(
    status: int, code: str, message: str, field: str | None = None, details: dict[str, Any] | None = None
) -> JsonResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    error.update(details or {})
    return JsonResponse({"error": error}, status=status)


def unauthorized_response() -> JsonResponse:
    """The 401 of every endpoint that takes an API token, with its Bearer challenge."""
    response = error_response(401, "unauthorized", "send a valid API token: Authorization: Bearer <token>")
    response["WWW-Authenticate"] = "Bearer"
    return response
