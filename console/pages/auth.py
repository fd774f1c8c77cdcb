"""Login and logout: Django's own views, under the console's URL namespace."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest

__all__ = ["AuthedRequest", "login", "login_required", "logout"]

login = auth_views.LoginView.as_view(redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()


class AuthedRequest(HttpRequest):
    """The request a `login_required` view receives: its user is logged in."""

    user: User
