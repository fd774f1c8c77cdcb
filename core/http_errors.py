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
