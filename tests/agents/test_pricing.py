"""model_cost against bills computed by hand from the providers' published prices."""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import HttpResponse
from django.test import Client

from agents.models import ModelPrice
from agents.providers import pricing
from agents.providers.base import Usage
from agents.providers.pricing import model_cost, model_price_at, price_table_reset

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 9, 1, tzinfo=UTC)


def price(
    model: str, *, input: str, cached: str, write: str, output: str, since: datetime | None = None
) -> None:
    ModelPrice.objects.create(
        model=model,
        input_usd_per_mtok=Decimal(input),
        cached_input_usd_per_mtok=Decimal(cached),
        cache_write_usd_per_mtok=Decimal(write),
        output_usd_per_mtok=Decimal(output),
        valid_from=since or datetime(2024, 1, 1, tzinfo=UTC),
    )


@pytest.fixture(autouse=True)
def fresh_table(db):
    # Each test writes the rows it prices against; the seeded defaults would blur that.
    ModelPrice.objects.all().delete()
    price_table_reset()
    yield
    price_table_reset()


@pytest.fixture
def gpt_4o(db) -> None:
    price("openai/gpt-4o", input="2.50", cached="1.25", write="0", output="10.00")


@pytest.fixture
def sonnet(db) -> None:
    price("anthropic/claude-sonnet-4-5", input="3.00", cached="0.30", write="3.75", output="15.00")


def test_input_and_output_without_cache(gpt_4o):
    # 12,345 x $2.50 + 678 x $10.00 per million = $0.0308625 + $0.00678
    cost = model_cost(model="openai/gpt-4o", usage=Usage(input_tokens=12_345, output_tokens=678), at=NOW)

    assert cost == Decimal("0.0376425")
    assert isinstance(cost, Decimal)


def test_cached_reads_are_billed_once_at_the_cached_rate(gpt_4o):
    # 200,000 uncached x $2.50 = $0.50; 1,000,000 cached x $1.25 = $1.25; 150,000 out x $10 = $1.50
    usage = Usage(input_tokens=1_200_000, output_tokens=150_000, cached_input_tokens=1_000_000)

    cost = model_cost(model="openai/gpt-4o", usage=usage, at=NOW)

    assert cost == Decimal("3.25")


def test_cache_reads_and_writes_each_at_their_rate(sonnet):
    # 50,000 uncached x $3 = $0.15; 400,000 read x $0.30 = $0.12; 50,000 written x $3.75 = $0.1875;
    # 20,000 out x $15 = $0.30
    usage = Usage(
        input_tokens=500_000, output_tokens=20_000, cached_input_tokens=400_000, cache_write_tokens=50_000
    )

    cost = model_cost(model="anthropic/claude-sonnet-4-5", usage=usage, at=NOW)

    assert cost == Decimal("0.7575")
    assert cost.quantize(Decimal("0.01")) == Decimal("0.76")


def test_the_price_valid_at_the_time_of_the_call_applies(db):
    price(
        "openai/gpt-4o",
        input="5.00",
        cached="5.00",
        write="0",
        output="15.00",
        since=datetime(2024, 5, 13, tzinfo=UTC),
    )
    price(
        "openai/gpt-4o",
        input="2.50",
        cached="1.25",
        write="0",
        output="10.00",
        since=datetime(2024, 8, 6, tzinfo=UTC),
    )
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)

    assert model_cost(model="openai/gpt-4o", usage=usage, at=datetime(2024, 6, 1, tzinfo=UTC)) == Decimal(
        "6.5"
    )
    assert model_cost(model="openai/gpt-4o", usage=usage, at=datetime(2024, 8, 6, tzinfo=UTC)) == Decimal(
        "3.5"
    )
    assert model_cost(model="openai/gpt-4o", usage=usage, at=datetime(2024, 1, 1, tzinfo=UTC)) == Decimal(0)


def test_exact_name_beats_glob_and_longer_glob_beats_shorter(db):
    price("openai/*", input="1", cached="1", write="0", output="1")
    price("openai/gpt-4o*", input="2.50", cached="1.25", write="0", output="10")
    price("openai/gpt-4o-mini", input="0.15", cached="0.075", write="0", output="0.60")
    # A newer glob does not override an exact row that is still valid.
    price("openai/*", input="9", cached="9", write="0", output="9", since=datetime(2025, 1, 1, tzinfo=UTC))

    assert model_price_at(model="openai/gpt-4o-mini", at=NOW).model == "openai/gpt-4o-mini"
    assert model_price_at(model="openai/gpt-4o-2024-08-06", at=NOW).model == "openai/gpt-4o*"
    o3 = model_price_at(model="openai/o3", at=NOW)
    assert (o3.model, o3.input) == ("openai/*", Decimal(9))
    assert model_price_at(model="anthropic/claude-sonnet-4-5", at=NOW) is None
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert model_cost(model="openai/gpt-4o-mini", usage=usage, at=NOW) == Decimal("0.75")


def test_unknown_model_costs_nothing_and_warns_once(db, caplog):
    caplog.set_level(logging.WARNING, logger="agents.providers.pricing")

    first = model_cost(model="sim/refund", usage=Usage(input_tokens=1000, output_tokens=10), at=NOW)
    second = model_cost(model="sim/refund", usage=Usage(input_tokens=1000, output_tokens=10), at=NOW)

    assert first == second == Decimal(0)
    warnings = [r for r in caplog.records if "sim/refund" in r.getMessage()]
    assert len(warnings) == 1


def test_prices_are_cached_so_the_hot_path_runs_no_query(gpt_4o, django_assert_num_queries, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(pricing, "_clock", lambda: clock[0])
    usage = Usage(input_tokens=1_000_000)
    assert model_cost(model="openai/gpt-4o", usage=usage, at=NOW) == Decimal("2.5")
    ModelPrice.objects.filter(model="openai/gpt-4o").update(input_usd_per_mtok=Decimal("3"))

    with django_assert_num_queries(0):
        assert model_cost(model="openai/gpt-4o", usage=usage, at=NOW) == Decimal("2.5")

    clock[0] += pricing.PRICE_CACHE_TTL_S
    with django_assert_num_queries(1):
        assert model_cost(model="openai/gpt-4o", usage=usage, at=NOW) == Decimal("3")


def _delete_one(client: Client, row: ModelPrice) -> HttpResponse:
    return client.post(f"/admin/agents/modelprice/{row.pk}/delete/", {"post": "yes"})


def _delete_selected(client: Client, row: ModelPrice) -> HttpResponse:
    form = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    return client.post("/admin/agents/modelprice/", form)


@pytest.mark.parametrize("delete", [_delete_one, _delete_selected])
def test_a_price_deleted_in_the_admin_is_gone_from_this_process_at_once(admin, gpt_4o, monkeypatch, delete):
    monkeypatch.setattr(pricing, "_clock", lambda: 0.0)  # the cached table never ages by itself
    assert model_price_at(model="openai/gpt-4o", at=NOW) is not None  # now cached
    client = Client()
    client.force_login(admin)
    response = delete(client, ModelPrice.objects.get(model="openai/gpt-4o"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not ModelPrice.objects.exists()
    assert model_price_at(model="openai/gpt-4o", at=NOW) is None
