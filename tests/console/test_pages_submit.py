"""The submit form: it offers runnable agents, creates a task through task_submit, shows its errors."""

from django.urls import reverse

from agents.models import Agent, Task


def _form(client) -> dict[str, str]:
    """The fields the rendered form carries, as a browser would send them back."""
    form = client.get(reverse("console:task_new")).context["form"]
    return {"submission_key": form.initial["submission_key"]}


def test_form_offers_only_agents_with_a_current_version(client, requester, agent):
    Agent.objects.create(name="draft-agent")
    client.force_login(requester)

    html = client.get(reverse("console:task_new")).content.decode()

    assert '<option value="support-bot">support-bot</option>' in html
    assert "draft-agent" not in html


def test_submitting_creates_a_task_and_lands_on_its_page(client, requester, agent):
    client.force_login(requester)
    data = _form(client) | {"agent": "support-bot", "input": "Where is order 42?", "end_user": "cust-7"}

    response = client.post(reverse("console:task_new"), data)

    task = Task.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:task", args=[task.id])
    assert (task.owner, task.input, task.status) == (requester, "Where is order 42?", Task.Status.QUEUED)
    assert (task.session.agent, task.session.end_user) == (agent, "cust-7")
    assert task.trace.trace_id


def test_resending_the_same_form_submits_one_task(client, requester, agent):
    client.force_login(requester)
    data = _form(client) | {"agent": "support-bot", "input": "once"}

    first = client.post(reverse("console:task_new"), data)
    second = client.post(reverse("console:task_new"), data)

    assert Task.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_blank_input_shows_the_service_error_next_to_the_input(client, requester, agent):
    client.force_login(requester)

    response = client.post(
        reverse("console:task_new"), _form(client) | {"agent": "support-bot", "input": "   "}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"input": ["input must not be empty"]}
    assert '<div class="error field-error" data-field="input">input must not be empty</div>' in (
        response.content.decode()
    )
    assert not Task.objects.exists()


def test_unknown_agent_shows_the_service_error_next_to_the_agent(client, requester, agent):
    client.force_login(requester)

    response = client.post(
        reverse("console:task_new"), _form(client) | {"agent": "<b>nope</b>", "input": "hi"}
    )

    [error] = response.context["form"].errors["agent"]
    assert error.startswith("no agent named '<b>nope</b>'")
    html = response.content.decode()
    assert "&lt;b&gt;nope&lt;/b&gt;" in html
    assert "<b>nope</b>" not in html
    assert not Task.objects.exists()


def test_missing_fields_are_form_errors_without_a_task(client, requester, agent):
    client.force_login(requester)

    response = client.post(reverse("console:task_new"), {})

    assert set(response.context["form"].errors) == {"agent", "input"}
    assert not Task.objects.exists()


def test_without_runnable_agents_the_form_says_how_to_make_one(client, requester):
    client.force_login(requester)

    html = client.get(reverse("console:task_new")).content.decode()

    assert "No agent has a current version yet" in html
