"""The page behind an e-mail link: GET shows what it would decide (nothing changes), POST decides."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from approvals.services import MAX_COMMENT_CHARS
from console.pages.auth import AuthedRequest, login_required
from core.errors import ServiceError
from notifications.email_links import email_link_open, email_link_use


@require_http_methods(["GET", "HEAD", "POST"])  # scanners send HEAD too; only POST decides
@login_required
def email_link(request: AuthedRequest, token: str) -> HttpResponse:
    context: dict[str, Any] = {"token": token, "max_comment_chars": MAX_COMMENT_CHARS}
    try:
        link = email_link_open(token=token, user=request.user)
        context["link"] = link
        if request.method == "POST":
            comment = str(request.POST.get("comment", ""))[:MAX_COMMENT_CHARS]
            context["decided"] = email_link_use(token=token, user=request.user, comment=comment)
    except ServiceError as exc:
        context["error"] = exc.message
        return render(request, "notifications/email_link.html", context, status=exc.status)
    response = render(request, "notifications/email_link.html", context)
    response["Cache-Control"] = "no-store"
    return response
