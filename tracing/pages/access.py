"""Who may read the operations pages (costs, alerts, reports): reviewers and admins."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from agents.selectors import user_is_admin, user_is_reviewer
from console.pages.auth import AuthedRequest, login_required

View = Callable[..., HttpResponse]


def operator_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_reviewer(user=request.user):
            raise PermissionDenied("only reviewers and admins read the operations pages")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_admin(user=request.user):
            raise PermissionDenied("only admins change alert rules")
        return view(request, *args, **kwargs)

    return wrapper
