"""A model is accepted for an agent, a fallback or a routing table only if a provider can serve
it and it has a price (or is marked free); a task whose model lost its price stops, unmetered never."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError

from agents.guards.pages import GuardConfigForm
from agents.models import Agent, ModelPrice, Task
from agents.providers.base import Usage
from agents.providers.pricing import model_cost, price_table_reset
from agents.runtime.loop import RunOutcome, task_steps_run
from agents.services.tasks import task_submit
from tests.factories import make_agent

URL = "/api/v1/agents"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_prices(db):
    price_table_reset()
    yield
    price_table_reset()


def create(client, **fields):
    body = {"name": "bot", "model": "sim/echo"} | fields
    return client.post(URL, body, content_type="application/json")


@pytest.mark.parametrize(
    ("fields", "field", "named"),
    [
        ({"model": "openai/gpt-4o-typo"}, "model", "'openai/gpt-4o-typo' has no price"),
        ({"fallback_model": "anthropic/claude-nonesuch"}, "fallback_model", "'anthropic/claude-nonesuch'"),
        ({"model": "sim/does-not-exist"}, "model", "no scenario 'does-not-exist'; known: chain, echo"),
        ({"model": "madeup/x"}, "model", "sim/|openai/|anthropic/"),
    ],
)
def test_an_unservable_or_unpriced_model_is_refused_naming_it(admin_api, fields, field, named):
    response = create(admin_api, **fields)

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == field
    assert named in error["message"]
    assert not Agent.objects.exists()


def test_patch_to_an_unpriced_model_is_refused_and_keeps_the_version(admin_api):
    assert create(admin_api).status_code == 201

    response = admin_api.patch(f"{URL}/bot", {"model": "openai/gpt-9"}, content_type="application/json")

    assert response.status_code == 422
    assert "'openai/gpt-9' has no price" in response.json()["error"]["message"]
    assert Agent.objects.get(name="bot").current_version.number == 1


def test_a_model_an_admin_marks_free_is_accepted_and_costs_nothing(admin_api):
    ModelPrice.objects.create(model="openai/llama3.1:8b", free=True, valid_from=NOW)
    price_table_reset()

    assert create(admin_api, model="openai/llama3.1:8b").status_code == 201
    usage = Usage(input_tokens=1000, output_tokens=100)
    assert model_cost(model="openai/llama3.1:8b", usage=usage, at=NOW) == Decimal(0)


def test_zero_rates_without_the_free_mark_are_refused_by_the_database(db):
    with pytest.raises(IntegrityError):
        ModelPrice.objects.create(model="openai/forgot", valid_from=NOW)


def test_the_common_models_ship_priced_snapshots_included(admin_api):
    expected = {
        "openai/gpt-4o-2024-08-06": Decimal("2.5"),
        "openai/gpt-4o-mini-2024-07-18": Decimal("0.15"),
        "openai/gpt-4.1-mini": Decimal("0.4"),
        "openai/gpt-5-mini": Decimal("0.25"),
        "openai/o4-mini-2025-04-16": Decimal("1.1"),
        "anthropic/claude-sonnet-4-5-20250929": Decimal("3"),
        "anthropic/claude-opus-4-5-20251101": Decimal("5"),
        "anthropic/claude-opus-4-1-20250805": Decimal("15"),
        "anthropic/claude-3-5-haiku-20241022": Decimal("0.8"),
    }
    usage = Usage(input_tokens=1_000_000)

    costs = {model: model_cost(model=model, usage=usage, at=NOW) for model in expected}

    assert costs == expected
    assert create(admin_api, model="anthropic/claude-haiku-4-5").status_code == 201


def test_the_routing_table_refuses_an_unpriced_model(db):
    form = GuardConfigForm({"routing": '{"classify": "openai/gpt-4o-mini-typo"}'})

    assert not form.is_valid()
    assert "'openai/gpt-4o-mini-typo' has no price" in form.errors["routing"][0]


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_model_lost_its_price_stops_before_any_call(requester, use_simulator):
    make_agent("orphan", model="sim/echo")
    ModelPrice.objects.filter(model="sim/*").delete()
    price_table_reset()
    task, _ = task_submit(owner=requester, agent_name="orphan", input="hello")

    outcome = task_steps_run(task_id=task.id, max_steps=5, max_seconds=30)

    task.refresh_from_db()
    assert outcome is RunOutcome.FINISHED
    assert (task.status, task.stop_reason) == (Task.Status.HALTED, "unpriced_model")
    assert "'sim/echo' has no price" in task.stop_detail
    assert not task.steps.exists()
    assert task.cost_usd == 0
