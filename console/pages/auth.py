"""Login and logout: Django's own views, under the console's URL namespace."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

__all__ = [
    "AuthedRequest",
    "login",
    "login_attempt_username",
    "login_locked_out",
    "login_required",
    "logout",
    "role_required",
]

login = auth_views.LoginView.as_view(redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()


def login_attempt_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username django-axes counts failures under (AXES_USERNAME_CALLABLE), made storable:
    an over-long one (no user has one) or a NUL byte would otherwise fail the insert of its
    attempt row with a 500."""
    raw = credentials.get("username") if credentials else request.POST.get("username")
    if raw is None:
        return None
    return str(raw).replace("\x00", "")[: User._meta.get_field("username").max_length]


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """django-axes' answer to a login while locked out (AXES_LOCKOUT_CALLABLE): the login page,
    saying why and for how long, with 429. Each attempt while locked out restarts the cool-off."""
    return render(
        request,
        "registration/login.html",
        {
            "form": AuthenticationForm(request),
            "locked_out_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            "next": request.POST.get("next", ""),
        },
        status=429,
    )


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
