from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from agents.selectors import user_is_admin
from approvals.selectors import user_may_open_queue
from console.pages.auth import AuthedRequest

View = Callable[..., HttpResponse]


def reviewer_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_may_open_queue(user=request.user):
            raise PermissionDenied("only reviewers and admins may open the approval queue")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_is_admin(user=request.user):
            raise PermissionDenied("only admins may change the risk policy")
        return view(request, *args, **kwargs)

    return wrapper
