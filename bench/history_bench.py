"""The pages, APIs and periodic scans that read history, on a database holding a year of it.

1. Fills its own database (tollgate_history) once, in SQL (generate_series, one INSERT … SELECT
   a table): 125,000 tasks in 31,250 sessions over 365 days, 10 steps each (1.25M steps), a model
   and a tool span a step and a root span a task (2.6M spans), 12,500 action requests (those of
   critical tier stay pending, as they never close by themselves, and the newest ones are
   pending) with their audit entries. A later run reuses the fill; `--refill` drops it first.
   `--quick` fills and times a database of its own (tollgate_history_quick) 25 times smaller,
   to check that the benchmark works: its times are not the ones the issue asks for.
2. Times, through Django's test client (the whole view, middleware and template; no socket):
   the approval queue page, the sessions list, the cost page over 30 days, the daily report,
   GET /api/v1/approvals?status=pending, and one evaluation of the alert rules (all enabled
   rules, as beat runs it every minute). Each is loaded once cold, then WARM_RUNS times.

The last line is JSON with `queue_ms`, `sessions_ms`, `costs_30d_ms`, `report_ms`,
`approvals_api_ms` and `alert_eval_ms`: p95 of the warm runs.
"""

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from harness import percentile, setup_django

TASKS_PER_SESSION = 4
STEPS_PER_TASK = 10
AGENTS = 20
USERS = 40
REVIEWERS = 5
DAYS = 365
WARM_RUNS = 20
TOOLS = ["lookup_order", "issue_refund", "send_email", "delete_account", "search_docs"]
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4"]
TIERS = ["medium", "high", "critical"]


@dataclass(frozen=True)
class Size:
    database: str
    tasks: int
    requests: int
    pending_newest: int  # the newest requests are still pending


FULL = Size(database="tollgate_history", tasks=125_000, requests=12_500, pending_newest=400)
QUICK = Size(database="tollgate_history_quick", tasks=5_000, requests=500, pending_newest=16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refill", action="store_true", help="drop the database's history and fill it again")
    parser.add_argument("--quick", action="store_true", help="a history 25 times smaller, own database")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    if args.refill:
        _drop(size.database)
    setup_django(size.database)
    from agents.models import Task

    if Task.objects.count() < size.tasks:
        started = time.perf_counter()
        _fill(size)
        print(f"filled in {time.perf_counter() - started:.0f} s")
    _print_sizes()
    results = _measure()
    print(json.dumps(results))


def _drop(database: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from console import embedded

    base = urlsplit(embedded.database_url())
    with psycopg.connect(urlunsplit(base._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _fill(size: Size) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from agents.models import Agent, AgentVersion
    from agents.selectors import REVIEWERS_GROUP
    from core import clock

    with transaction.atomic():
        admin = User.objects.create_superuser("bench-admin", password=None)
        users = User.objects.bulk_create([User(username=f"bench-user-{n}") for n in range(USERS)])
        reviewers = User.objects.bulk_create([User(username=f"bench-reviewer-{n}") for n in range(REVIEWERS)])
        group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
        group.user_set.add(*reviewers)
        versions = []
        for n in range(AGENTS):
            agent = Agent.objects.create(name=f"bench-agent-{n}")
            model = f"openai/{MODELS[n % len(MODELS)]}"
            version = AgentVersion.objects.create(agent=agent, number=1, model=model)
            agent.current_version = version
            agent.save(update_fields=["current_version"])
            versions.append(version)
    params = {
        "now": clock.now(),
        "year": timedelta(days=DAYS),
        "tasks": size.tasks,
        "per_session": TASKS_PER_SESSION,
        "sessions": size.tasks // TASKS_PER_SESSION,
        "steps": STEPS_PER_TASK,
        "agents": [v.agent_id for v in versions],
        "versions": [v.pk for v in versions],
        "models": [v.model.partition("/")[2] for v in versions],
        "users": [u.pk for u in users],
        "reviewers": [u.pk for u in reviewers],
        "admin": admin.pk,
        "tools": TOOLS,
        "tiers": TIERS,
        "requests": size.requests,
        "pending_newest": size.pending_newest,
    }
    with connection.cursor() as cursor:
        for label, sql in _FILL:
            started = time.perf_counter()
            cursor.execute(sql.replace("TASK_TIME", _TASK_TIME), params)
            print(f"  {label}: {cursor.rowcount} rows in {time.perf_counter() - started:.1f} s", flush=True)
        for table in ("tracing_trace", "approvals_auditentry"):
            # Rows were inserted with their ids: the next id the app takes must follow them.
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")  # noqa: S608
        cursor.execute("VACUUM ANALYZE")


# TASK_TIME in the statements below: task n (0-based) is created at
# now - 365 days + n * (365 days / tasks); its steps are 3 s apart.
_TASK_TIME = "(%(now)s - %(year)s + n * (%(year)s / %(tasks)s))"
_FILL = [
    (
        "sessions",
        """
INSERT INTO agents_session (id, end_user, created_at, updated_at, agent_id, agent_version_id, owner_id,
    tainted, suspicious, taint_sources, external_id)
SELECT md5('s' || s)::uuid, 'customer-' || (s %% 997),
       %(now)s - %(year)s + s * %(per_session)s * (%(year)s / %(tasks)s),
       %(now)s - %(year)s + s * %(per_session)s * (%(year)s / %(tasks)s),
       (%(agents)s::bigint[])[1 + s %% cardinality(%(agents)s::bigint[])],
       (%(versions)s::bigint[])[1 + s %% cardinality(%(versions)s::bigint[])],
       (%(users)s::int[])[1 + s %% cardinality(%(users)s::int[])],
       false, false, '{}', ''
FROM generate_series(0, %(sessions)s - 1) AS s
""",
    ),
    (
        "tasks",
        """
INSERT INTO agents_task (id, session_id, owner_id, input, idempotency_fingerprint, status, result,
    partial, stop_reason, stop_detail, messages, step_index, input_tokens, output_tokens, cached_input_tokens,
    cost_usd, tool_calls, cancel_requested, run_failures, created_at, started_at, finished_at,
    history_messages)
SELECT md5('t' || n)::uuid, md5('s' || (n / %(per_session)s))::uuid,
       (%(users)s::int[])[1 + (n / %(per_session)s) %% cardinality(%(users)s::int[])],
       'Where is order ' || n || '?', '',
       CASE WHEN n %% 100 < 86 THEN 'succeeded' WHEN n %% 100 < 92 THEN 'failed'
            WHEN n %% 100 < 97 THEN 'halted' ELSE 'cancelled' END,
       'Order ' || n || ' ships tomorrow.', false,
       CASE WHEN n %% 100 < 86 THEN 'completed' WHEN n %% 100 < 92 THEN 'model_error'
            WHEN n %% 100 < 97 THEN 'budget' ELSE 'cancelled' END,
       '', '[]'::jsonb, %(steps)s,
       %(steps)s * (800 + n %% 400), %(steps)s * (60 + n %% 90), %(steps)s * 200,
       %(steps)s * (1 + n %% 13) * 0.000370000000, %(steps)s, false, 0,
       TASK_TIME, TASK_TIME + interval '50 ms',
       TASK_TIME + %(steps)s * interval '3 s' + (n %% 17) * interval '1 s', 0
FROM generate_series(0, %(tasks)s - 1) AS n
""",
    ),
    (
        "steps",
        """
INSERT INTO agents_step (task_id, index, status, model, response, tool_results, input_tokens, output_tokens,
    cached_input_tokens, cost_usd, model_latency_ms, started_at, finished_at)
SELECT md5('t' || n)::uuid, i, 'completed',
       'openai/' || (%(models)s::text[])[1 + (n / %(per_session)s) %% cardinality(%(models)s::text[])],
       jsonb_build_object('role', 'assistant', 'content', 'Looking it up.'), '[]'::jsonb,
       800 + n %% 400, 60 + n %% 90, 200, (1 + n %% 13) * 0.000370000000, 900 + (n + i) %% 700,
       TASK_TIME + i * interval '3 s', TASK_TIME + i * interval '3 s' + interval '2 s'
FROM generate_series(0, %(tasks)s - 1) AS n, generate_series(0, %(steps)s - 1) AS i
""",
    ),
    (
        "traces",
        """
INSERT INTO tracing_trace (id, trace_id, task_id, created_at)
SELECT n + 1, md5('trace' || n), md5('t' || n)::uuid, TASK_TIME
FROM generate_series(0, %(tasks)s - 1) AS n
""",
    ),
    (
        "spans (root)",
        """
INSERT INTO tracing_span (trace_id, span_id, parent_span_id, name, kind, step_index, status, started_at,
    ended_at, duration_ms, attributes)
SELECT n + 1, substr(md5('root' || n), 1, 16), '', 'invoke_agent', 'agent', NULL,
       CASE WHEN n %% 100 BETWEEN 86 AND 96 THEN 'error' ELSE 'ok' END,
       TASK_TIME, TASK_TIME + %(steps)s * interval '3 s', %(steps)s * 3000.0,
       jsonb_build_object('gen_ai.operation.name', 'invoke_agent', 'tollgate.cost_usd',
                          (%(steps)s * (1 + n %% 13) * 0.000370000000)::text)
FROM generate_series(0, %(tasks)s - 1) AS n
""",
    ),
    (
        "spans (model)",
        """
INSERT INTO tracing_span (trace_id, span_id, parent_span_id, name, kind, step_index, status, started_at,
    ended_at, duration_ms, attributes)
SELECT n + 1, substr(md5('model' || n || '.' || i), 1, 16), substr(md5('root' || n), 1, 16),
       'chat', 'model', i, 'ok', TASK_TIME + i * interval '3 s',
       TASK_TIME + i * interval '3 s' + interval '1 s', 1000.0,
       jsonb_build_object(
           'gen_ai.operation.name', 'chat',
           'gen_ai.request.model',
           (%(models)s::text[])[1 + (n / %(per_session)s) %% cardinality(%(models)s::text[])],
           'gen_ai.usage.input_tokens', 800 + n %% 400, 'gen_ai.usage.output_tokens', 60 + n %% 90,
           'gen_ai.conversation.id', md5('s' || (n / %(per_session)s))::uuid::text,
           'tollgate.cost_usd', ((1 + n %% 13) * 0.000370000000)::text)
FROM generate_series(0, %(tasks)s - 1) AS n, generate_series(0, %(steps)s - 1) AS i
""",
    ),
    (
        "spans (tool)",
        """
INSERT INTO tracing_span (trace_id, span_id, parent_span_id, name, kind, step_index, status, started_at,
    ended_at, duration_ms, attributes)
SELECT n + 1, substr(md5('tool' || n || '.' || i), 1, 16), substr(md5('root' || n), 1, 16),
       'execute_tool', 'tool', i, CASE WHEN (n + i) %% 41 = 0 THEN 'error' ELSE 'ok' END,
       TASK_TIME + i * interval '3 s' + interval '1 s', TASK_TIME + i * interval '3 s' + interval '2 s',
       1000.0,
       jsonb_build_object('gen_ai.operation.name', 'execute_tool',
                          'gen_ai.tool.name',
                          (%(tools)s::text[])[1 + (n + i) %% cardinality(%(tools)s::text[])])
FROM generate_series(0, %(tasks)s - 1) AS n, generate_series(0, %(steps)s - 1) AS i
""",
    ),
    (
        "action requests",
        # Request r belongs to task r * tasks / requests. Critical ones stay pending (a person
        # acts outside); of the others, the newest pending_newest are pending, the rest decided.
        """
INSERT INTO approvals_actionrequest (id, task_id, step_index, call_index, call_id, tool_name, agent_name,
    arguments, original_arguments, reasoning, version, tier, policy_version, request_hash, status,
    approvals_required, reviewer_group, decided_by_id, decided_at, decision_comment, created_at, outcome_note)
SELECT md5('ar' || r)::uuid, md5('t' || t)::uuid, 2, 0, 'call-' || r,
       (%(tools)s::text[])[2 + r %% 3],
       'bench-agent-' || (t / %(per_session)s) %% cardinality(%(agents)s::bigint[]),
       jsonb_build_object('order', t, 'amount', r %% 500), jsonb_build_object('order', t, 'amount', r %% 500),
       'The customer asked for it.', 1, (%(tiers)s::text[])[1 + r %% 3], 1, md5('hash' || r) || md5('h' || r),
       CASE WHEN r %% 3 = 2 OR r >= %(requests)s - %(pending_newest)s THEN 'pending'
            WHEN r %% 10 < 7 THEN 'executed' WHEN r %% 10 < 8 THEN 'rejected'
            WHEN r %% 10 < 9 THEN 'cancelled' ELSE 'expired' END,
       1, 'reviewers',
       CASE WHEN r %% 3 = 2 OR r >= %(requests)s - %(pending_newest)s OR r %% 10 = 9 THEN NULL
            ELSE (%(reviewers)s::int[])[1 + r %% cardinality(%(reviewers)s::int[])] END,
       CASE WHEN r %% 3 = 2 OR r >= %(requests)s - %(pending_newest)s THEN NULL
            ELSE created + (30 + r %% 3000) * interval '1 s' END,
       '', created, ''
FROM (
    SELECT r, r * %(tasks)s / %(requests)s AS t,
           %(now)s - %(year)s + (r * %(tasks)s / %(requests)s) * (%(year)s / %(tasks)s)
           + interval '7 s' AS created
    FROM generate_series(0, %(requests)s - 1) AS r
) AS requests
""",
    ),
    (
        "audit entries",
        """
INSERT INTO approvals_auditentry (id, seq, at, actor_id, actor_name, action, object_type, object_id, before,
    after, prev_mac, mac)
SELECT row_number() OVER (ORDER BY decided_at, id), row_number() OVER (ORDER BY decided_at, id),
       decided_at, decided_by_id, coalesce(decided_by_id::text, 'system'), 'request.' || status,
       'action_request', id::text, '{"status": "pending"}'::jsonb, jsonb_build_object('status', status), '',
       md5(id::text) || md5('mac' || id)
FROM approvals_actionrequest WHERE decided_at IS NOT NULL
""",
    ),
]


def _print_sizes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        tables = ("agents_session", "agents_task", "agents_step", "tracing_span", "approvals_actionrequest")
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant table names
            print(f"{table}: {cursor.fetchone()[0]:,} rows")


def _measure() -> dict[str, float]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from console.tokens import api_token_create
    from core import clock
    from tracing.alerts.services import alerts_evaluate

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    admin = User.objects.get(username="bench-admin")
    browser = Client()
    browser.force_login(admin)
    raw, _token = api_token_create(user=admin, name="history-bench")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()

    def page(client: Client, url: str) -> Callable[[], None]:
        def load() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return load

    loads = {
        "queue_ms": page(browser, "/approvals/"),
        "sessions_ms": page(browser, "/"),
        "costs_30d_ms": page(browser, "/costs/?range=30d"),
        "report_ms": page(browser, f"/reports/daily/?day={yesterday}"),
        "approvals_api_ms": page(api, "/api/v1/approvals?status=pending"),
        "alert_eval_ms": lambda: alerts_evaluate(now=clock.now()),
    }
    results = {}
    for name, load in loads.items():
        started = time.perf_counter()
        load()
        cold = (time.perf_counter() - started) * 1000
        samples = []
        for _ in range(WARM_RUNS):
            started = time.perf_counter()
            load()
            samples.append((time.perf_counter() - started) * 1000)
        results[name] = round(percentile(samples, 95), 1)
        p50 = percentile(samples, 50)
        print(f"{name}: cold {cold:.1f} ms, warm p50 {p50:.1f} ms, p95 {results[name]} ms")
    return results


if __name__ == "__main__":
    main()
