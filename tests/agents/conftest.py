from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from agents.models import Agent, AgentVersion, ModelPrice, Tool
from agents.providers.pricing import price_table_reset
from tests.support.processes import free_port, running_simulator
from tests.support.toolserver import ToolServerState, running_tool_server

TEST_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="session")
def simulator_url(tmp_path_factory) -> Iterator[str]:
    with running_simulator(
        tmp_path_factory.mktemp("simulator"), free_port(), SIM_SCENARIOS=str(TEST_SCENARIOS)
    ) as url:
        yield url


@pytest.fixture
def use_simulator(settings, simulator_url) -> str:
    settings.SIMULATOR_URL = simulator_url
    # Transactional tests flush the tables, seeded prices included.
    ModelPrice.objects.get_or_create(
        model="sim/*",
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        defaults={
            "input_usd_per_mtok": Decimal("0.15"),
            "cached_input_usd_per_mtok": Decimal("0.075"),
            "cache_write_usd_per_mtok": Decimal("0.15"),
            "output_usd_per_mtok": Decimal("0.60"),
        },
    )
    price_table_reset()
    return simulator_url


@pytest.fixture
def tool_server() -> Iterator[tuple[str, ToolServerState]]:
    with running_tool_server() as server:
        yield server


def make_agent(
    name: str, *, model: str, tools: list[Tool] = (), owner: User | None = None, **budgets
) -> Agent:
    agent = Agent.objects.create(name=name)
    version = AgentVersion.objects.create(
        agent=agent, number=1, model=model, system_prompt="Be brief.", **budgets
    )
    version.tools.set(tools)
    agent.current_version = version
    agent.save(update_fields=["current_version"])
    return agent


def make_http_tool(name: str, url: str, **fields) -> Tool:
    return Tool.objects.create(
        name=name,
        url=url,
        parameters={"type": "object", "properties": {"i": {"type": ["string", "integer"]}}},
        **fields,
    )
