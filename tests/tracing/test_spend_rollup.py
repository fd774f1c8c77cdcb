"""The hourly spend roll-up: kept by the spans table's triggers through every kind of write, the
Costs page's series from it equal to the spans' own sums, concurrent writers adding up, and the
migration's backfill of spans stored before it."""

import importlib
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.urls import reverse

from agents.models import Session, Task
from agents.services.tasks import task_submit
from tests.factories import make_agent
from tests.support.races import race
from tracing import costs
from tracing.ids import new_span_id
from tracing.models import Span
from tracing.recorder import SpanBuffer, spans_insert_new

NOW = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
RANGES = {
    "24h": (timedelta(hours=24), True),
    "7d": (timedelta(days=7), False),
    "30d": (timedelta(days=30), False),
}
# Backends waiting on a lock this one holds.
_BLOCKED_BY_ME = "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
LONG_MODEL = "m" * 40_000  # an OTLP attribute may be this long: too long for a btree entry


def _task(owner: User, agent: str) -> Task:
    made, _ = task_submit(owner=owner, agent_name=agent, input="go")
    return Task.objects.select_related("trace").get(pk=made.pk)


def _span(task: Task, *, at: datetime, cost: str | None, model: str | None = "gpt-a", **attributes) -> Span:
    """A model span as the runtime writes it; `cost` None leaves the cost attribute out."""
    attributes.setdefault("gen_ai.conversation.id", str(task.session_id))
    if model is not None:
        attributes["gen_ai.request.model"] = model
    if cost is not None:
        attributes["tollgate.cost_usd"] = cost
    return Span(
        trace_id=task.trace.pk,
        span_id=new_span_id(),
        name="chat",
        kind=Span.Kind.MODEL,
        started_at=at,
        ended_at=at,
        duration_ms=0,
        attributes=attributes,
    )


def _rollup() -> dict[tuple, tuple[str, int]]:
    """(hour, model, conversation) → (spend as text, calls) of the roll-up's non-empty rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hour, model, conversation, spend::text, calls FROM tracing_spendhour WHERE calls <> 0"
        )
        return {(hour, model, conv): (spend, calls) for hour, model, conv, spend, calls in cursor.fetchall()}


def _spans_summed() -> dict[tuple, tuple[str, int]]:
    """The same, summed from the spans as they are now."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT date_trunc('hour', started_at, 'UTC'), attributes ->> 'gen_ai.request.model',
                   attributes ->> 'gen_ai.conversation.id',
                   sum((attributes ->> 'tollgate.cost_usd')::numeric)::text, count(*)
            FROM tracing_span WHERE kind = 'model' AND attributes ? 'tollgate.cost_usd' GROUP BY 1, 2, 3
            """
        )
        return {(hour, model, conv): (spend, calls) for hour, model, conv, spend, calls in cursor.fetchall()}


def _by_value(rows: dict[tuple, tuple[str, int]]) -> dict[tuple, tuple[Decimal, int]]:
    return {key: (Decimal(spend), calls) for key, (spend, calls) in rows.items()}


def _expected_series(*, since: datetime, until: datetime, by: str, hourly: bool) -> dict[str, dict]:
    """group → {bucket: spend}, from each model span in Python: the figures the page showed when
    it summed the spans (a call's session by its conversation id, if that is a session's)."""
    sessions = {str(s.pk): s for s in Session.objects.select_related("agent", "owner")}
    lines: dict[str, dict] = defaultdict(lambda: defaultdict(Decimal))
    spans = Span.objects.filter(kind=Span.Kind.MODEL, started_at__gte=since, started_at__lt=until)
    for span in spans.filter(attributes__has_key="tollgate.cost_usd"):
        session = sessions.get(span.attributes.get("gen_ai.conversation.id"))
        group = {
            "agent": session.agent.name if session else None,
            "user": session.owner.username if session else None,
            "model": span.attributes.get("gen_ai.request.model"),
        }[by]
        bucket = span.started_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if not hourly:
            bucket = bucket.replace(hour=0)
        lines[str(group or "—")][bucket] += Decimal(span.attributes["tollgate.cost_usd"])
    return {group: dict(line) for group, line in lines.items()}


def _series_as_dict(series: costs.Series) -> dict[str, dict]:
    return {
        group: {bucket: value for bucket, value in zip(series.buckets, line, strict=True) if value}
        for group, line in series.lines.items()
    }


def _assert_page_equals_the_spans(now: datetime) -> None:
    for length, hourly in RANGES.values():
        for by in costs.GROUPS:
            since = now - length
            series = costs.cost_series(since=since, until=now, by=by, hourly=hourly)
            expected = _expected_series(since=since, until=now, by=by, hourly=hourly)
            assert set(series.lines) == set(expected), (length, by)
            got = _series_as_dict(series)
            wanted = {group: {b: v for b, v in line.items() if v} for group, line in expected.items()}
            assert got == wanted, (length, by)
            # To the digit and the scale: "exactly $0.300000000003" reads the same.
            assert {g: str(t) for g, t in series.totals.items()} == {
                g: str(sum(line.values(), Decimal(0))) for g, line in expected.items()
            }, (length, by)


@pytest.fixture
def history(db, requester, time_machine):
    """Spend of two agents, two owners and three models over 40 days, written every way spans
    are: the ORM, a span buffer's one statement, and OTLP's insert of new spans only."""
    time_machine.move_to(NOW, tick=False)
    make_agent("support-bot", model="sim/refund")
    make_agent("research-bot", model="sim/research")
    other = User.objects.create_user("other")
    support = _task(requester, "support-bot")
    research = _task(other, "research-bot")
    again = _task(requester, "research-bot")
    Span.objects.bulk_create(
        [
            _span(support, at=NOW - timedelta(minutes=1), cost="0.100000000001"),  # this hour
            _span(support, at=NOW - timedelta(minutes=40), cost="0.2", model="gpt-b"),  # earlier today
            _span(support, at=NOW - timedelta(hours=24), cost="1.5"),  # the 24 h range's first instant
            _span(support, at=NOW - timedelta(hours=24, seconds=1), cost="2.25"),  # just before it
            _span(research, at=NOW - timedelta(hours=23, minutes=50), cost="0.03"),  # its partial hour
            _span(research, at=NOW - timedelta(days=3, hours=5), cost="4"),
            _span(research, at=NOW - timedelta(days=29, hours=23), cost="0.000000000007"),
            _span(
                research, at=NOW - timedelta(days=30, minutes=10), cost="8"
            ),  # the 30 d's first day, before
            _span(again, at=NOW - timedelta(days=40), cost="16"),
            _span(again, at=NOW + timedelta(minutes=5), cost="32"),  # a client's clock ahead: not yet
            _span(again, at=NOW - timedelta(hours=2), cost="0.5", model=None),
            _span(again, at=NOW - timedelta(hours=2), cost="0.25", model=LONG_MODEL),
            _span(again, at=NOW - timedelta(hours=2), cost=None),  # no cost: not spend
            _span(support, at=NOW - timedelta(hours=5), cost="0.7", **{"gen_ai.conversation.id": "ext-42"}),
            _span(support, at=NOW - timedelta(hours=6), cost="0.9", **{"gen_ai.conversation.id": None}),
        ]
    )
    buffer = SpanBuffer(trace_pk=support.trace.pk, parent_span_id="")
    for hours, model in ((1, "gpt-a"), (3, "gpt-c"), (49, "gpt-a")):
        at = NOW - timedelta(hours=hours)
        buffer.add(
            name="chat",
            kind=Span.Kind.MODEL,
            started_at=at,
            ended_at=at,
            attributes={
                "gen_ai.request.model": model,
                "gen_ai.conversation.id": str(support.session_id),
                "tollgate.cost_usd": "0.010",
            },
        )
    buffer.add(
        name="tool", kind=Span.Kind.TOOL, started_at=NOW, ended_at=NOW, attributes={"tollgate.cost_usd": "7"}
    )
    buffer.flush()
    exported = [_span(research, at=NOW - timedelta(days=2, hours=n), cost="0.05") for n in range(3)]
    assert len(spans_insert_new(exported)) == 3
    assert spans_insert_new(exported) == set()  # a retried export counts nothing twice
    return support, research, again


def test_the_rollup_is_the_spans_sums_through_every_write(history):
    _, research, _ = history
    assert _rollup() == _spans_summed()

    # Late spend: an export of yesterday's and last week's calls, after the others counted.
    late = [_span(research, at=NOW - timedelta(days=n, minutes=7), cost="0.125") for n in (1, 6)]
    spans_insert_new(late)
    # Corrected, moved to another hour, turned into a tool span, deleted.
    Span.objects.filter(span_id=late[0].span_id).update(
        attributes={**late[0].attributes, "tollgate.cost_usd": "0.5"}
    )
    Span.objects.filter(span_id=late[1].span_id).update(started_at=NOW - timedelta(days=8))
    Span.objects.filter(kind=Span.Kind.MODEL, attributes__contains={"gen_ai.request.model": "gpt-c"}).update(
        kind=Span.Kind.TOOL
    )
    Span.objects.filter(attributes__contains={"tollgate.cost_usd": "4"}).delete()

    # Equal in value; a sum a span was taken out of keeps that span's decimal places (0.530 for
    # 0.53). No code updates or deletes spans; what it writes is counted to the digit, above.
    assert _by_value(_rollup()) == _by_value(_spans_summed())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracing_spendhour WHERE calls = 0")
        assert cursor.fetchone()[0] >= 2  # the emptied keys stay, as no group: `calls > 0`


def test_the_series_equals_the_spans_sums_for_every_range_and_grouping(history):
    _assert_page_equals_the_spans(NOW)
    day = costs.cost_series(since=NOW - timedelta(hours=24), until=NOW, by="agent", hourly=True).totals
    # "—": the spend of conversations that are no session's id (an OTLP exporter's own, none).
    assert day == {
        "support-bot": Decimal("1.820000000001"),
        "—": Decimal("1.6"),
        "research-bot": Decimal("0.78"),
    }
    by_model = costs.cost_series(since=NOW - timedelta(hours=24), until=NOW, by="model", hourly=True).totals
    assert by_model["—"] == Decimal("0.5")  # a call without a model
    assert by_model[LONG_MODEL] == Decimal("0.25")


def test_late_spend_and_todays_spend_show_on_the_next_read(history, time_machine):
    support, research, _ = history
    Span.objects.bulk_create(
        [
            _span(research, at=NOW - timedelta(days=1, hours=3), cost="0.0625"),  # settled after midnight
            _span(support, at=NOW - timedelta(seconds=1), cost="0.001"),
        ]
    )
    _assert_page_equals_the_spans(NOW)
    # An hour on: the hour that was partial is now read from the roll-up.
    time_machine.move_to(NOW + timedelta(hours=1, minutes=1), tick=False)
    _assert_page_equals_the_spans(NOW + timedelta(hours=1, minutes=1))
    # A range that starts and ends on the hour, and one inside one hour.
    _assert_page_equals_the_spans(NOW.replace(minute=0))
    inside = costs.cost_series(since=NOW - timedelta(minutes=20), until=NOW, by="model", hourly=True)
    assert inside.totals == {"gpt-a": Decimal("0.101000000001")}


def test_the_30_day_page_runs_a_constant_number_of_queries(
    client, reviewer, history, django_assert_max_num_queries
):
    Span.objects.bulk_create(
        [
            _span(task, at=NOW - timedelta(days=day, hours=day), cost="0.01")
            for day in range(30)
            for task in history
        ]
    )
    client.force_login(reviewer)

    # Session, user, reviewer check, spend series, session costs, distribution, tool health.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("tracing:costs"), {"range": "30d", "by": "user"})
    assert response.status_code == 200
    assert response.context["series"].totals == {
        group: sum(line.values(), Decimal(0))
        for group, line in _expected_series(
            since=NOW - timedelta(days=30), until=NOW, by="user", hourly=False
        ).items()
    }


def test_the_backfill_counts_spans_stored_before_the_triggers(history, monkeypatch, capsys):
    expected = _spans_summed()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tracing_spendhour")
    migration = importlib.import_module("tracing.migrations.0006_spend_hour")
    monkeypatch.setattr(migration, "BACKFILL_CHUNK", 4)

    migration.backfill(None, type("SchemaEditor", (), {"connection": connection})())

    assert _rollup() == expected
    progress = capsys.readouterr().out.splitlines()
    assert len(progress) >= Span.objects.count() // 4
    assert progress[-1].endswith("counted (100%)")


def test_truncating_the_spans_empties_the_rollup(history):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's deferred key checks, before
        cursor.execute("TRUNCATE tracing_span")
    assert _rollup() == {}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_hour_model_and_session_all_count(requester):
    make_agent("support-bot", model="sim/refund")
    task = _task(requester, "support-bot")
    at = datetime.now(UTC).replace(minute=5)

    def write(n: int) -> None:
        for _ in range(10):
            with transaction.atomic():
                Span.objects.bulk_create([_span(task, at=at, cost=f"0.00{n}"), _span(task, at=at, cost="1")])

    assert race(*(lambda n=n: write(n) for n in range(1, 7))) == [None] * 6

    [(spend, calls)] = _rollup().values()
    assert calls == 6 * 10 * 2
    assert Decimal(spend) == 10 * (Decimal("0.021") + 6)
    assert _rollup() == _spans_summed()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("existing", [False, True], ids=["new key", "existing key"])
def test_a_writer_waits_for_the_other_ones_row_and_adds_to_it(requester, existing):
    """The second writer's upsert waits on the first's uncommitted row (or its insertion) and,
    once that commits, adds to the committed sum: nothing is lost to the interleaving."""
    make_agent("support-bot", model="sim/refund")
    task = _task(requester, "support-bot")
    at = datetime.now(UTC).replace(minute=5)
    if existing:
        Span.objects.bulk_create([_span(task, at=at, cost="100")])
    first_wrote = threading.Event()
    blocked: list[int] = []

    def first() -> None:
        with transaction.atomic():
            Span.objects.bulk_create([_span(task, at=at, cost="0.25")])
            first_wrote.set()
            with connection.cursor() as cursor:
                for _ in range(2_000):
                    cursor.execute(_BLOCKED_BY_ME)
                    if cursor.fetchone()[0]:
                        blocked.append(1)
                        break
                    time.sleep(0.005)

    def second() -> None:
        assert first_wrote.wait(30)
        with transaction.atomic():
            Span.objects.bulk_create([_span(task, at=at, cost="0.5")])

    assert race(first, second) == [None, None]
    assert blocked == [1]  # the second writer did wait on the first's roll-up row
    [(spend, calls)] = _rollup().values()
    assert (Decimal(spend), calls) == (Decimal("0.75") + (100 if existing else 0), 2 + existing)
