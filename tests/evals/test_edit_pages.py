"""The console's forms for suites and cases: each saves through the same service as REST, shows a
refusal on its form (never a 500), and is an admin's alone."""

import json

import pytest
from django.test import Client

from approvals.models import AuditEntry
from evals.limits import MAX_INPUT_CHARS, MAX_LIVE_TOOLS
from evals.models import EvalCase, EvalSuite
from evals.services.runs import eval_run_start
from evals.services.suites import suite_create
from tests.evals.support import REFUND_CHECKS, refund_agent, refund_suite

pytestmark = pytest.mark.django_db

FIXTURES = [{"tool": "lookup_order", "arguments": None, "result": {"status": "success", "data": {"id": 1}}}]
CEL_CHECK = [{"kind": "cel", "name": "succeeds", "expr": 'status == "succeeded"'}]


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_browser(admin) -> Client:
    return _browser(admin)


@pytest.fixture
def reviewer_browser(reviewer) -> Client:
    return _browser(reviewer)


@pytest.fixture
def agent(sim_priced):
    return refund_agent("http://127.0.0.1:9/tools")


def _error(response, field: str) -> str:
    """The form's error on `field` (a non-field error: ""), as the page shows it."""
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert (field or "__all__") in errors, errors
    return " ".join(errors[field or "__all__"])


# Suites


def test_an_admin_creates_a_suite_and_it_is_audited(admin, admin_browser, agent):
    form = admin_browser.get("/evals/suites/new/")
    assert form.status_code == 200
    assert b'<option value="support">support</option>' in form.content

    made = admin_browser.post(
        "/evals/suites/new/",
        {"agent": "support", "name": "  refunds  ", "description": "line one\r\nline two", "required": "on"},
    )

    suite = EvalSuite.objects.get()
    assert made.status_code == 302
    assert made["Location"] == f"/evals/suites/{suite.pk}/"
    assert (suite.agent_id, suite.name, suite.description, suite.required, suite.created_by) == (
        agent.pk,
        "refunds",
        "line one\nline two",
        True,
        admin,
    )
    assert AuditEntry.objects.filter(action="eval_suite.created", object_id=str(suite.pk)).exists()
    assert "Suite &#x27;refunds&#x27; created" in admin_browser.get(made["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"agent": "nobody", "name": "x"}, "agent", "no agent named 'nobody'"),
        ({"agent": "", "name": "x"}, "agent", "required"),
        ({"agent": "support", "name": "refunds"}, "name", "already has a suite named 'refunds'"),
        ({"agent": "support", "name": "x" * 201}, "name", "at most 200 characters"),
        ({"agent": "support", "name": "x", "description": "d" * 2001}, "description", "at most 2000"),
    ],
)
def test_a_refused_suite_shows_the_form_again_with_why(admin, admin_browser, agent, data, field, message):
    suite_create(actor=admin, agent_name="support", name="refunds")
    response = admin_browser.post("/evals/suites/new/", data)
    assert message in _error(response, field)
    assert EvalSuite.objects.count() == 1
    assert f'data-field="{field}"'.encode() in response.content


def test_a_nul_in_a_form_is_refused_before_the_view(admin_browser, agent):
    # The console's input guard (console/input_guard.py) answers for every form: a 400, never a 500.
    response = admin_browser.post("/evals/suites/new/", {"agent": "support", "name": "a\x00b"})
    assert response.status_code == 400
    assert not EvalSuite.objects.exists()


def test_an_admin_edits_a_suite_and_a_clash_is_shown(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=0)
    suite_create(actor=admin, agent_name="support", name="other")
    page = admin_browser.get(f"/evals/suites/{suite.pk}/edit/")
    assert page.status_code == 200
    assert b'value="refunds"' in page.content

    clash = admin_browser.post(f"/evals/suites/{suite.pk}/edit/", {"name": "other"})
    assert "already has a suite named 'other'" in _error(clash, "name")

    saved = admin_browser.post(
        f"/evals/suites/{suite.pk}/edit/", {"name": "refunds v2", "description": "d", "required": "on"}
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"/evals/suites/{suite.pk}/"
    suite.refresh_from_db()
    assert (suite.name, suite.description, suite.required) == ("refunds v2", "d", True)
    assert AuditEntry.objects.filter(action="eval_suite.updated", object_id=str(suite.pk)).exists()


def test_deleting_a_suite_asks_first_naming_what_goes_with_it(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=2, required=True)
    eval_run_start(suite=suite, agent_version=agent.current_version, by=admin)

    ask = admin_browser.get(f"/evals/suites/{suite.pk}/delete/")
    assert ask.status_code == 200
    text = ask.content.decode()
    assert "2 cases and 1 run " in text
    assert "decided again at once" in text  # required: its agent's candidates are re-decided
    assert EvalSuite.objects.filter(pk=suite.pk).exists()

    deleted = admin_browser.post(f"/evals/suites/{suite.pk}/delete/")
    assert deleted.status_code == 302
    assert deleted["Location"] == "/evals/"
    assert not EvalSuite.objects.filter(pk=suite.pk).exists()
    assert AuditEntry.objects.filter(action="eval_suite.deleted", object_id=str(suite.pk)).exists()
    assert admin_browser.get(f"/evals/suites/{suite.pk}/delete/").status_code == 404


# Cases


def test_an_admin_adds_a_case_through_the_service(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=0)
    assert admin_browser.get(f"/evals/suites/{suite.pk}/cases/new/").status_code == 200

    made = admin_browser.post(
        f"/evals/suites/{suite.pk}/cases/new/",
        {
            "name": "refund A",
            "input": "Refund order A-1001,\r\nplease.",
            "fixtures": json.dumps(FIXTURES),
            "live_tools": " issue_refund , lookup_order,",
            "checks": json.dumps(CEL_CHECK),
        },
    )

    assert made.status_code == 302
    assert made["Location"] == f"/evals/suites/{suite.pk}/"
    case = EvalCase.objects.get(suite=suite)
    assert (case.name, case.input, case.fixtures, case.live_tools, case.created_by) == (
        "refund A",
        "Refund order A-1001,\nplease.",
        FIXTURES,
        ["issue_refund", "lookup_order"],
        admin,
    )
    assert case.checks[0]["expr"] == 'status == "succeeded"'
    listed = admin_browser.get(made["Location"]).content.decode()
    assert "refund A" in listed
    assert f"/evals/cases/{case.pk}/edit/" in listed


def test_a_case_with_blank_fixtures_and_checks_has_none(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=0)
    made = admin_browser.post(f"/evals/suites/{suite.pk}/cases/new/", {"name": "plain", "input": "hi"})
    assert made.status_code == 302
    case = EvalCase.objects.get(suite=suite)
    assert (case.fixtures, case.live_tools, case.checks) == ([], [], [])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"input": "   "}, "input", "input must be non-empty text"),
        ({"input": "x" * (MAX_INPUT_CHARS + 1)}, "input", f"at most {MAX_INPUT_CHARS} characters"),
        ({"name": "refund 0"}, "name", "already has a case named 'refund 0'"),
        ({"fixtures": "[{"}, "fixtures", "not valid JSON"),
        ({"fixtures": '{"tool": "x"}'}, "fixtures", "fixtures must be a list"),
        ({"fixtures": '[{"tool": "x"}]'}, "fixtures", "a fixture's result is a tool result"),
        ({"fixtures": '["a\\u0000"]'}, "fixtures", "NUL"),
        ({"checks": '[{"kind": "regex"}]'}, "checks", "checks[0].kind must be one of"),
        ({"checks": '[{"kind": "cel", "expr": "status =="}]'}, "checks", "checks[0]"),
        ({"checks": json.dumps([CEL_CHECK[0]] * 21)}, "checks", "at most 20 checks"),
        ({"live_tools": ",".join(f"t{n}" for n in range(MAX_LIVE_TOOLS + 1))}, "live_tools", "at most 32"),
        ({"live_tools": "x" * 65}, "live_tools", "tool names"),
    ],
)
def test_a_refused_case_shows_the_form_again_with_why(admin, admin_browser, agent, data, field, message):
    suite = refund_suite(admin, cases=1)
    response = admin_browser.post(
        f"/evals/suites/{suite.pk}/cases/new/", {"name": "new", "input": "Refund A-1001.", **data}
    )
    assert message in _error(response, field)
    assert f'data-field="{field}"'.encode() in response.content
    assert EvalCase.objects.filter(suite=suite).count() == 1


def test_a_full_suite_refuses_another_case_on_the_form(admin, admin_browser, agent, monkeypatch):
    monkeypatch.setattr("evals.services.suites.MAX_CASES_PER_SUITE", 1)
    suite = refund_suite(admin, cases=1)
    response = admin_browser.post(f"/evals/suites/{suite.pk}/cases/new/", {"name": "new", "input": "x"})
    assert "already has 1 cases" in _error(response, "")


def test_an_admin_edits_a_case_shown_as_it_is(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=2)
    case = EvalCase.objects.get(suite=suite, name="refund 0")
    page = admin_browser.get(f"/evals/cases/{case.pk}/edit/")
    assert page.status_code == 200
    form = page.context["form"]
    # The stored specs, one key a line, round-trip through the form unchanged.
    assert json.loads(form["checks"].value()) == case.checks
    assert '\n  {\n    "kind": "tool_calls"' in form["checks"].value()
    assert json.loads(form["fixtures"].value()) == case.fixtures

    clash = admin_browser.post(
        f"/evals/cases/{case.pk}/edit/",
        {"name": "refund 1", "input": case.input, "checks": json.dumps(REFUND_CHECKS)},
    )
    assert "already has a case named 'refund 1'" in _error(clash, "name")

    saved = admin_browser.post(
        f"/evals/cases/{case.pk}/edit/",
        {
            "name": "refund zero",
            "input": "new\r\ninput",
            "fixtures": form["fixtures"].value(),
            "live_tools": "issue_refund",
            "checks": json.dumps(CEL_CHECK),
        },
    )
    assert saved.status_code == 302
    assert saved["Location"] == f"/evals/suites/{suite.pk}/"
    case.refresh_from_db()
    assert (case.name, case.input, case.live_tools, len(case.fixtures)) == (
        "refund zero",
        "new\ninput",
        ["issue_refund"],
        2,
    )
    assert [check["expr"] for check in case.checks] == ['status == "succeeded"']


def test_an_admin_deletes_a_case(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=2)
    case = EvalCase.objects.get(suite=suite, name="refund 0")
    page = admin_browser.get(f"/evals/cases/{case.pk}/edit/").content.decode()
    assert f'action="/evals/cases/{case.pk}/delete/"' in page
    assert "data-confirm=" in page

    assert admin_browser.get(f"/evals/cases/{case.pk}/delete/").status_code == 405
    deleted = admin_browser.post(f"/evals/cases/{case.pk}/delete/")
    assert deleted.status_code == 302
    assert deleted["Location"] == f"/evals/suites/{suite.pk}/"
    assert list(suite.cases.values_list("name", flat=True)) == ["refund 1"]
    assert admin_browser.post(f"/evals/cases/{case.pk}/delete/").status_code == 404


def test_unknown_suites_and_cases_are_not_found(admin_browser, agent):
    for path in (
        "/evals/suites/99999/edit/",
        "/evals/suites/99999999999999/delete/",
        "/evals/suites/99999/cases/new/",
        "/evals/cases/99999/edit/",
        "/evals/cases/99999999999999/edit/",
    ):
        assert admin_browser.get(path).status_code == 404, path


# Who may


def test_reviewers_read_but_every_form_refuses_them(admin, reviewer_browser, agent):
    suite = refund_suite(admin, cases=1)
    case = suite.cases.get()
    page = reviewer_browser.get(f"/evals/suites/{suite.pk}/").content.decode()
    assert "refund 0" in page
    assert "/edit/" not in page
    assert "/delete/" not in page
    assert "/cases/new/" not in page
    assert "/evals/suites/new/" not in reviewer_browser.get("/evals/").content.decode()

    posts = {
        "/evals/suites/new/": {"agent": "support", "name": "mine"},
        f"/evals/suites/{suite.pk}/edit/": {"name": "mine"},
        f"/evals/suites/{suite.pk}/delete/": {},
        f"/evals/suites/{suite.pk}/cases/new/": {"name": "mine", "input": "x"},
        f"/evals/cases/{case.pk}/edit/": {"name": "mine", "input": "x"},
        f"/evals/cases/{case.pk}/delete/": {},
    }
    for path, data in posts.items():
        assert reviewer_browser.post(path, data).status_code == 403, path
        if not path.endswith("/delete/") or "suites" in path:
            assert reviewer_browser.get(path).status_code == 403, path
    assert [(s.name, list(s.cases.values_list("name", "input"))) for s in EvalSuite.objects.all()] == [
        ("refunds", [("refund 0", "Please refund order A-1001 (case 0).")])
    ]


def test_an_admin_sees_the_links_on_the_existing_pages(admin, admin_browser, agent):
    suite = refund_suite(admin, cases=1)
    case = suite.cases.get()
    assert 'href="/evals/suites/new/"' in admin_browser.get("/evals/").content.decode()
    page = admin_browser.get(f"/evals/suites/{suite.pk}/").content.decode()
    for link in (
        f"/evals/suites/{suite.pk}/edit/",
        f"/evals/suites/{suite.pk}/delete/",
        f"/evals/suites/{suite.pk}/cases/new/",
        f"/evals/cases/{case.pk}/edit/",
    ):
        assert f'href="{link}"' in page, link


def test_requesters_are_refused_the_forms(requester, agent):
    client = _browser(requester)
    assert client.get("/evals/suites/new/").status_code == 403
    assert client.post("/evals/suites/new/", {"agent": "support", "name": "x"}).status_code == 403
    assert not EvalSuite.objects.exists()


def test_every_form_refuses_an_admins_post_without_its_csrf_token(admin, agent):
    """A page elsewhere cannot make an admin's browser create, change or delete suites and cases."""
    suite = refund_suite(admin, cases=1)
    case = suite.cases.get()
    audited = AuditEntry.objects.count()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    posts = {
        "/evals/suites/new/": {"agent": "support", "name": "forged"},
        f"/evals/suites/{suite.pk}/edit/": {"name": "forged"},
        f"/evals/suites/{suite.pk}/cases/new/": {"name": "forged", "input": "x"},
        f"/evals/cases/{case.pk}/edit/": {"name": "forged", "input": "x"},
        f"/evals/cases/{case.pk}/delete/": {},
        f"/evals/suites/{suite.pk}/delete/": {},
    }
    for path, data in posts.items():
        assert strict.post(path, data).status_code == 403, path
    assert [(s.name, list(s.cases.values_list("name", flat=True))) for s in EvalSuite.objects.all()] == [
        ("refunds", ["refund 0"])
    ]
    assert AuditEntry.objects.count() == audited
