"""The real simulator and tool server, shared by every test folder (a pytest plugin)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from agents.models import ModelPrice
from agents.providers.pricing import price_table_reset
from tests.support.http import serving
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
def use_simulator(settings, simulator_url, sim_priced) -> str:
    settings.SIMULATOR_URL = simulator_url
    return simulator_url


@pytest.fixture
def sim_priced(db) -> None:
    """The simulator's seeded price: transactional tests flush the tables, seeded prices included,
    and an agent cannot be created with (nor run) a model that has no price."""
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


@pytest.fixture
def tool_server() -> Iterator[tuple[str, ToolServerState]]:
    with running_tool_server() as server:
        yield server


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[dict, bytes]]]]:
    """A local webhook endpoint; yields its URL and what it received (headers, body)."""
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield f"{url}/hook", received
