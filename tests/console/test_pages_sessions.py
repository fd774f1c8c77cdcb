"""The sessions list and a session's page: who sees what, the roll-ups, filters, paging, queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Agent, AgentVersion, Session, Task
from agents.services.tasks import task_submit


def _task(owner, agent: Agent, *, text: str = "hello", session=None, **done) -> Task:
    task, _ = task_submit(owner=owner, agent_name=agent.name, input=text, session_id=session)
    if done:
        Task.objects.filter(pk=task.pk).update(**done)
        task.refresh_from_db()
    return task


def _session_ids(response) -> set[str]:
    return {str(session.id) for session in response.context["page"]}


def test_user_sees_only_own_sessions(client, requester, outsider, agent):
    mine = _task(requester, agent)
    _task(outsider, agent)
    client.force_login(requester)

    response = client.get(reverse("console:sessions"))

    assert response.status_code == 200
    assert _session_ids(response) == {str(mine.session_id)}


@pytest.mark.parametrize("persona", ["reviewer", "admin"])
def test_reviewers_and_admins_see_every_session(client, requester, outsider, agent, persona, request):
    tasks = [_task(requester, agent), _task(outsider, agent)]
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("console:sessions"))

    assert _session_ids(response) == {str(task.session_id) for task in tasks}


def test_row_rolls_up_tasks_tokens_cost_and_last_status(client, requester, agent):
    first = _task(requester, agent, status="succeeded", input_tokens=100, output_tokens=20, cost_usd="0.0012")
    _task(
        requester,
        agent,
        session=first.session_id,
        status="halted",
        input_tokens=50,
        output_tokens=5,
        cost_usd="0.000345",
    )
    Session.objects.filter(pk=first.session_id).update(end_user="customer-42")
    client.force_login(requester)

    response = client.get(reverse("console:sessions"))

    [row] = response.context["page"]
    assert (row.task_count, row.total_tokens, row.total_cost) == (2, 175, Decimal("0.001545"))
    assert row.last_status == "halted"
    html = response.content.decode()
    assert "customer-42" in html
    assert ">0.001545</td>" in html
    assert 'class="badge status-halted"' in html


def test_filters_by_agent_and_by_last_task_status(client, requester, agent):
    other = Agent.objects.create(name="researcher")
    other.current_version = AgentVersion.objects.create(agent=other, number=1, model="sim/research")
    other.save(update_fields=["current_version"])
    done = _task(requester, agent, status="succeeded")
    failed = _task(requester, agent, status="failed")
    research = _task(requester, other, status="succeeded")
    client.force_login(requester)
    url = reverse("console:sessions")

    assert _session_ids(client.get(url, {"agent": "researcher"})) == {str(research.session_id)}
    assert _session_ids(client.get(url, {"status": "failed"})) == {str(failed.session_id)}
    both = client.get(url, {"agent": "support-bot", "status": "succeeded"})
    assert _session_ids(both) == {str(done.session_id)}
    # An unknown status is ignored rather than matching nothing.
    assert len(_session_ids(client.get(url, {"status": "<bogus>"}))) == 3


def test_list_pages_by_fifty_newest_first(client, requester, agent):
    tasks = [_task(requester, agent, text=f"task {i}") for i in range(51)]
    client.force_login(requester)

    first = client.get(reverse("console:sessions"))
    second = client.get(reverse("console:sessions"), {"page": 2})

    assert len(first.context["page"]) == 50
    assert _session_ids(second) == {str(tasks[0].session_id)}
    assert "page 1 of 2" in first.content.decode()


def test_list_runs_a_constant_number_of_queries(
    client, reviewer, requester, agent, django_assert_max_num_queries
):
    for i in range(60):
        task = _task(requester, agent, text=f"task {i}")
        _task(requester, agent, session=task.session_id, status="succeeded", input_tokens=i)
    client.force_login(reviewer)

    # Login session and user, reviewer check, page count, the page itself, the agent filter.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("console:sessions"))

    assert len(response.context["page"]) == 50


def test_session_page_lists_its_tasks_in_order(client, requester, agent):
    first = _task(requester, agent, text="first question")
    second = _task(requester, agent, text="second question", session=first.session_id)
    client.force_login(requester)

    response = client.get(reverse("console:session", args=[first.session_id]))

    assert [task.id for task in response.context["page"]] == [first.id, second.id]
    html = response.content.decode()
    assert html.index("first question") < html.index("second question")


def test_session_page_shows_the_sessions_taint(client, requester, agent):
    task = _task(requester, agent)
    url = reverse("console:session", args=[task.session_id])
    client.force_login(requester)
    assert 'id="session-taint">clean' in client.get(url).content.decode()

    Session.objects.filter(pk=task.session_id).update(tainted=True, taint_sources=["web_fetch", "input"])
    tainted = client.get(url).content.decode()
    assert "tainted</span>" in tainted
    assert "suspicious</span>" not in tainted
    assert "sources: web_fetch, input" in tainted

    Session.objects.filter(pk=task.session_id).update(suspicious=True)
    assert "suspicious</span>" in client.get(url).content.decode()


def test_session_page_is_404_for_an_outsider_and_open_to_a_reviewer(
    client, requester, outsider, reviewer, agent
):
    task = _task(requester, agent)
    url = reverse("console:session", args=[task.session_id])

    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(reviewer)
    assert client.get(url).status_code == 200


def test_session_page_runs_a_constant_number_of_queries(
    client, requester, agent, django_assert_max_num_queries
):
    first = _task(requester, agent)
    for i in range(60):
        _task(requester, agent, text=f"follow-up {i}", session=first.session_id)
    client.force_login(requester)

    # Login session and user, reviewer check, the session, its task count, the page of tasks.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("console:session", args=[first.session_id]))

    assert len(response.context["page"]) == 50
