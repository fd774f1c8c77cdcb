"""The user's own API tokens: list, create (the raw token is shown once), revoke."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console.pages import selectors
from console.pages.auth import AuthedRequest, login_required
from console.pages.forms import ApiTokenCreateForm
from console.tokens import api_token_create, api_token_revoke
from core.errors import NotFound

PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
@login_required
def token_list(request: AuthedRequest) -> HttpResponse:
    form = ApiTokenCreateForm(request.POST if request.method == "POST" else None)
    raw_token = None
    if request.method == "POST" and form.is_valid():
        raw_token, _token = api_token_create(user=request.user, name=form.cleaned_data["name"])
        form = ApiTokenCreateForm()
    tokens = selectors.api_token_list(user=request.user)
    page = Paginator(tokens, PAGE_SIZE).get_page(request.GET.get("page"))
    response = render(
        request, "console/token_list.html", {"form": form, "page": page, "raw_token": raw_token}
    )
    if raw_token:
        # The one page that ever holds the raw token must not be kept by any cache.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    try:
        api_token_revoke(user=request.user, token_id=token_id)
    except NotFound as error:
        raise Http404(error.message) from error
    messages.success(request, "Token revoked.")
    return redirect("console:tokens")
