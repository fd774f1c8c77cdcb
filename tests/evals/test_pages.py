"""The console's eval pages: suites, a suite, a run beside its predecessor, a case from a task."""

import pytest
from django.test import Client

from agents.models import AgentVersion
from core import clock
from evals.models import EvalCase
from evals.services.runs import eval_case_check, eval_run_start
from tests.evals.support import refund_agent, refund_suite
from tests.evals.test_api import production_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def test_suites_suite_and_a_run_with_its_regressions_first(admin, admin_browser, sim_priced, use_simulator):
    agent = refund_agent("http://127.0.0.1:9/tools")
    suite = refund_suite(admin, cases=2)
    before = eval_run_start(suite=suite, agent_version=agent.current_version, by=admin)
    for result in before.results.select_related("task"):
        _end(result.task, "Done: refunded.")
        eval_case_check(task_id=result.task_id)
    v2 = AgentVersion.objects.create(agent=agent, number=2, model="sim/echo")
    after = eval_run_start(suite=suite, agent_version=v2, by=admin)
    _first, second = after.results.select_related("task").order_by("case_name")
    _end(second.task, "Sorry.")
    eval_case_check(task_id=second.task_id)

    listed = admin_browser.get("/evals/")
    assert listed.status_code == 200
    assert b"refunds" in listed.content
    page = admin_browser.get(f"/evals/suites/{suite.pk}/")
    assert page.status_code == 200
    assert b"refund 0" in page.content
    assert b"Start a run" in page.content

    run_page = admin_browser.get(f"/evals/runs/{after.pk}/")
    assert run_page.status_code == 200
    text = run_page.content.decode()
    assert 'http-equiv="refresh"' in text  # still running: one case is pending
    assert "1 of 2 cases checked" in text
    # The regression is listed before the pending case, with the checks that broke.
    assert text.index("refund 1") < text.index("refund 0")
    assert "regression" in text
    assert "looks up, then refunds at most 50" in text


def test_a_task_page_offers_a_case_and_the_form_makes_one(admin, admin_browser, sim_priced):
    refund_agent("http://127.0.0.1:9/tools")
    suite = refund_suite(admin, cases=0)
    task = production_task(admin)
    assert b"Make an eval case" in admin_browser.get(f"/tasks/{task.pk}/").content
    form = admin_browser.get(f"/evals/from-task/{task.pk}/")
    assert form.status_code == 200
    made = admin_browser.post(f"/evals/from-task/{task.pk}/", {"suite": str(suite.pk), "name": "from prod"})
    assert made.status_code == 302
    case = EvalCase.objects.get(suite=suite)
    assert (case.name, case.source_task_id, len(case.fixtures)) == ("from prod", task.pk, 2)
    bad = admin_browser.post(f"/evals/from-task/{task.pk}/", {"suite": "99999999999999"})
    assert bad.status_code == 200
    assert b"Choose a suite" in bad.content


def test_requesters_are_refused(requester, sim_priced):
    client = Client()
    client.force_login(requester)
    assert client.get("/evals/").status_code == 403


def _end(task, result: str) -> None:
    now = clock.now()
    type(task).objects.filter(pk=task.pk).update(
        status="succeeded", result=result, started_at=now, finished_at=now
    )
