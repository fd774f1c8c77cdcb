"""Deleting a tool while an admin adds it to an agent: one of them wins cleanly, never a
version that lists a deleted tool and never a database error."""

import pytest

from agents.models import Agent, Tool
from agents.services.catalog import agent_create, agent_update, tool_delete
from core.errors import Conflict, Invalid
from tests.factories import make_http_tool
from tests.support.races import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("attempt", range(6))
def test_a_delete_racing_an_edit_that_adds_the_tool(admin, sim_priced, attempt):
    make_http_tool("refund", "https://shop.example/r", risk_tier="high")
    agent_create(actor=admin, name="support", model="sim/echo")

    deleted, edited = race(
        lambda: tool_delete(actor=admin, name="refund"),
        lambda: agent_update(actor=admin, name="support", tools=["refund"]),
    )

    current = Agent.objects.get(name="support").current_version
    tool_exists = Tool.objects.filter(name="refund").exists()
    if tool_exists:  # the edit won: the delete saw the tool in use
        assert isinstance(deleted, Conflict)
        assert list(current.tools.values_list("name", flat=True)) == ["refund"]
    else:  # the delete won: the edit found no such tool
        assert deleted is None
        assert isinstance(edited, Invalid)
        assert current.number == 1
