"""Login and logout: Django's own views, under the console's URL namespace."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

__all__ = ["AuthedRequest", "login", "login_required", "logout", "role_required"]

login = auth_views.LoginView.as_view(redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()


class AuthedRequest(HttpRequest):
    """The request a `login_required` view receives: its user is logged in."""

    user: User


View = Callable[..., HttpResponse]


def role_required(allowed: Callable[..., bool], *, denial: str) -> Callable[[View], View]:
    """A login-required view that answers 403 with `denial` unless `allowed(user=...)`."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(user=request.user):
                raise PermissionDenied(denial)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
