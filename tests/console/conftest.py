import pytest

from agents.models import Agent
from tests.factories import make_agent


@pytest.fixture
def agent(db) -> Agent:
    return make_agent("support-bot", model="sim/refund")
