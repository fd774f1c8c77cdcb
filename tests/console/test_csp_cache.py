"""The Content-Security-Policy header kept per process (console/csp_cache.py) is the one
django-csp builds, follows its settings, and leaves nonces and per-view changes to django-csp."""

from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import reverse


def answer(view=None, *, use_nonce: bool = False) -> HttpResponse:
    request = RequestFactory().get("/")

    def respond(request):
        if use_nonce:
            str(request.csp_nonce)
        return (view or (lambda request: HttpResponse("ok")))(request)

    return CSPMiddleware(respond)(request)


def directives_of(policy: str) -> set[str]:
    # Their order follows django-csp's set of names, which differs between processes.
    return {part.strip() for part in policy.split(";")}


def test_the_header_is_the_one_django_csp_builds_from_the_settings(client, db):
    expected = build_policy()

    assert client.get(reverse("console:login"))["Content-Security-Policy"] == expected
    assert answer()["Content-Security-Policy"] == expected


def test_a_change_of_the_settings_applies_to_the_next_response():
    assert "example.test" not in answer()["Content-Security-Policy"]

    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": [SELF, "example.test"]}}):
        assert answer()["Content-Security-Policy"] == "default-src 'self' example.test"
        with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"img-src": [SELF]}}):
            report_only = answer()["Content-Security-Policy-Report-Only"]
            assert directives_of(report_only) == {"default-src 'self'", "img-src 'self'"}
        assert "Content-Security-Policy-Report-Only" not in answer()

    assert "example.test" not in answer()["Content-Security-Policy"]


def test_a_nonce_and_a_views_own_changes_are_built_for_their_response():
    nonced = {"default-src": [SELF], "script-src": [SELF, NONCE]}
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": nonced}):
        plain = answer()["Content-Security-Policy"]
        first = answer(use_nonce=True)["Content-Security-Policy"]
        second = answer(use_nonce=True)["Content-Security-Policy"]
        updated = answer(csp_update({"img-src": "cdn.example.test"})(lambda request: HttpResponse("ok")))

    assert directives_of(plain) == {"default-src 'self'", "script-src 'self'"}
    assert "'nonce-" in first
    assert "'nonce-" in second
    assert first != second
    assert "img-src cdn.example.test" in updated["Content-Security-Policy"]
