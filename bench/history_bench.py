"""The pages, APIs and periodic scans that read history, on a database holding a year of it.

1. Fills its own database (tollgate_history) once, in SQL (generate_series, one INSERT … SELECT
   a table): 125,000 tasks in 31,250 sessions over 365 days, 10 steps each (1.25M steps), a model
   and a tool span a step and a root span a task (2.6M spans), 12,500 action requests (those of
   critical tier stay pending, as they never close by themselves, and the newest ones are
   pending) with their audit entries and 500 policy changes'; 5 registered tools and 1,000 that
   external agents named, 25,000 external actions, 5,000 injection detections, 40 eval suites of
   20 cases run nightly (14,600 runs, 292,000 case results), 50,000 memories, 3,000 alert
   firings, 5,000 guardrail cost alerts, 12 versions and 11 ended rollouts an agent, and 100 API
   tokens of the admin. A later run reuses the fill; `--refill` drops it first.
   `--quick` fills and times a database of its own (tollgate_history_quick) 25 times smaller,
   to check that the benchmark works: its times are not the ones the issue asks for.
2. Times, through Django's test client (the whole view, middleware and template; no socket):
   the approval queue page, the sessions list, the cost page over 30 days, the daily report,
   GET /api/v1/approvals?status=pending, and one evaluation of the alert rules (all enabled
   rules, as beat runs it every minute); then the agents list, an agent's page, the year's
   last session and task (its page and trace rows), the alerts, injection detections, eval
   suites, a suite, a run, tokens, memories, guardrails, tools and policy pages, /metrics, and
   the REST lists (tasks, sessions, agents, an agent's versions, rollouts and memories, tools,
   alerts, eval suites and runs, tokens). Each is loaded once cold, then WARM_RUNS times, then
   once more to count its SQL queries.

The last line is JSON with a key a measure (`queue_ms`, `sessions_ms`, `costs_30d_ms`,
`report_ms`, `approvals_api_ms`, `alert_eval_ms`, `agents_ms`, … `api_tokens_ms`): p95 of the
warm runs.
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
SUITES = 40
EVAL_CASES = 20
VERSIONS_PER_AGENT = 12
API_TOKENS = 100


@dataclass(frozen=True)
class Size:
    database: str
    tasks: int
    requests: int
    pending_newest: int  # the newest requests are still pending
    external_tools: int  # tools named by external agents, beside the 5 registered ones
    external_actions: int
    detections: int
    eval_runs: int  # of SUITES suites of EVAL_CASES cases each
    memories: int
    alerts: int
    guard_alerts: int
    policy_changes: int  # audit entries of policy changes, beside the decisions'


FULL = Size(
    database="tollgate_history",
    tasks=125_000,
    requests=12_500,
    pending_newest=400,
    external_tools=1_000,
    external_actions=25_000,
    detections=5_000,
    eval_runs=SUITES * DAYS,
    memories=50_000,
    alerts=3_000,
    guard_alerts=5_000,
    policy_changes=500,
)
QUICK = Size(
    database="tollgate_history_quick",
    tasks=5_000,
    requests=500,
    pending_newest=16,
    external_tools=40,
    external_actions=1_000,
    detections=200,
    eval_runs=SUITES * DAYS // 25,
    memories=2_000,
    alerts=120,
    guard_alerts=200,
    policy_changes=20,
)


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
        "external_tools": size.external_tools,
        "external_actions": size.external_actions,
        "detections": size.detections,
        "suites": SUITES,
        "cases": EVAL_CASES,
        "eval_runs": size.eval_runs,
        "memories": size.memories,
        "alerts": size.alerts,
        "guard_alerts": size.guard_alerts,
        "policy_changes": size.policy_changes,
        "versions_per_agent": VERSIONS_PER_AGENT,
        "api_tokens": API_TOKENS,
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
    tainted, suspicious, taint_sources, external_id, rollout_arm)
SELECT md5('s' || s)::uuid, 'customer-' || (s %% 997),
       %(now)s - %(year)s + s * %(per_session)s * (%(year)s / %(tasks)s),
       %(now)s - %(year)s + s * %(per_session)s * (%(year)s / %(tasks)s),
       (%(agents)s::bigint[])[1 + s %% cardinality(%(agents)s::bigint[])],
       (%(versions)s::bigint[])[1 + s %% cardinality(%(versions)s::bigint[])],
       (%(users)s::int[])[1 + s %% cardinality(%(users)s::int[])],
       false, false, '{}', '', ''
FROM generate_series(0, %(sessions)s - 1) AS s
""",
    ),
    (
        "tasks",
        """
INSERT INTO agents_task (id, session_id, owner_id, input, idempotency_fingerprint, status, result,
    partial, stop_reason, stop_detail, messages, step_index, input_tokens, output_tokens, cached_input_tokens,
    cost_usd, tool_calls, cancel_requested, run_failures, created_at, started_at, finished_at,
    history_messages, playback)
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
       TASK_TIME + %(steps)s * interval '3 s' + (n %% 17) * interval '1 s', 0, '{}'::jsonb
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
        # The decisions, and the admins' policy changes (the policy page lists the last 20 of
        # those among all entries), in one chain ordered by time.
        """
INSERT INTO approvals_auditentry (id, seq, at, actor_id, actor_name, action, object_type, object_id, before,
    after, prev_mac, mac)
SELECT row_number() OVER (ORDER BY at, object_id), row_number() OVER (ORDER BY at, object_id),
       at, actor_id, actor_name, action, object_type, object_id, before, after, '',
       md5(object_id) || md5('mac' || object_id || action)
FROM (
    SELECT decided_at AS at, decided_by_id AS actor_id, coalesce(decided_by_id::text, 'system') AS actor_name,
           'request.' || status AS action, 'action_request' AS object_type, id::text AS object_id,
           '{"status": "pending"}'::jsonb AS before, jsonb_build_object('status', status) AS after
    FROM approvals_actionrequest WHERE decided_at IS NOT NULL
    UNION ALL
    SELECT %(now)s - %(year)s + p * (%(year)s / %(policy_changes)s), %(admin)s, 'bench-admin',
           'policy.rule_updated', 'policy_rule', p::text, '{}'::jsonb, jsonb_build_object('rule', p)
    FROM generate_series(0, %(policy_changes)s - 1) AS p
) AS entries
""",
    ),
    (
        "tools",
        # The registered tools, then the ones external agents named through the gate API
        # (each becomes an external tool for an admin to tier: the tools page and the guards
        # overview list them all).
        """
INSERT INTO agents_tool (name, description, parameters, kind, url, method, timeout_s, risk_tier, created_at,
    updated_at, injection_action, trust, honours_idempotency_key, compensation_arguments)
SELECT CASE WHEN k < cardinality(%(tools)s::text[]) THEN (%(tools)s::text[])[1 + k] ELSE 'ext_tool_' || k END,
       CASE WHEN k < cardinality(%(tools)s::text[]) THEN 'A bench tool.'
            ELSE 'first named by an external agent through the gate API' END,
       '{}'::jsonb,
       CASE WHEN k < cardinality(%(tools)s::text[]) THEN 'http' ELSE 'external' END,
       CASE WHEN k < cardinality(%(tools)s::text[]) THEN 'http://tools.invalid/' || k ELSE '' END,
       'POST', 10.0, CASE WHEN k %% 7 = 0 THEN 'high' ELSE 'low' END,
       %(now)s - %(year)s + k * (%(year)s / (%(external_tools)s + 5)),
       %(now)s - %(year)s + k * (%(year)s / (%(external_tools)s + 5)), 'flag', 'untrusted', false, '{}'::jsonb
FROM generate_series(0, cardinality(%(tools)s::text[]) + %(external_tools)s - 1) AS k
""",
    ),
    (
        "external actions",
        # Action a: a call of an external tool, in task a * tasks / external_actions.
        """
INSERT INTO approvals_externalaction (id, owner_id, task_id, tool_name, arguments, tier, context, fingerprint,
    callback_url, outcome, result, reported_at, created_at)
SELECT md5('ea' || a)::uuid, (%(users)s::int[])[1 + (n / %(per_session)s) %% cardinality(%(users)s::int[])],
       md5('t' || n)::uuid, 'ext_tool_' || (5 + a %% %(external_tools)s), jsonb_build_object('order', n),
       'low', '{}'::jsonb, md5('fp' || a) || md5('fp2' || a), '', 'success', '{"ok": true}'::jsonb,
       TASK_TIME + interval '6 s', TASK_TIME + interval '5 s'
FROM (
    SELECT a, a::bigint * %(tasks)s / %(external_actions)s AS n
    FROM generate_series(0, %(external_actions)s - 1) AS a
) AS actions
""",
    ),
    (
        "injection detections",
        # Detection d: in a tool result of task d * tasks / detections.
        """
INSERT INTO injection_detection (session_id, task_id, step_index, call_index, source, agent_name, score,
    detectors, findings, snippet, action, created_at)
SELECT md5('s' || (n / %(per_session)s))::uuid, md5('t' || n)::uuid, 3, 0,
       (%(tools)s::text[])[1 + d %% cardinality(%(tools)s::text[])],
       'bench-agent-' || (n / %(per_session)s) %% cardinality(%(agents)s::bigint[]),
       0.5 + (d %% 50) / 100.0,
       CASE WHEN d %% 3 = 0 THEN ARRAY['heuristic', 'classifier'] ELSE ARRAY['heuristic'] END,
       jsonb_build_array(jsonb_build_object('detector', 'heuristic', 'score', 0.9,
                         'snippet', 'ignore previous instructions', 'start', 0, 'end', 28)),
       'ignore previous instructions',
       CASE WHEN d %% 10 < 7 THEN 'flag' WHEN d %% 10 < 9 THEN 'quarantine' ELSE 'block' END,
       TASK_TIME + interval '10 s'
FROM (SELECT d, d::bigint * %(tasks)s / %(detections)s AS n FROM generate_series(0, %(detections)s - 1) AS d)
    AS detections
""",
    ),
    (
        "eval suites",
        """
INSERT INTO evals_evalsuite (agent_id, name, description, required, created_by_id, created_at, updated_at)
SELECT (%(agents)s::bigint[])[1 + k %% cardinality(%(agents)s::bigint[])], 'suite-' || k, 'Bench suite.',
       k %% 2 = 0, %(admin)s, %(now)s - %(year)s, %(now)s - %(year)s
FROM generate_series(0, %(suites)s - 1) AS k
""",
    ),
    (
        "eval cases",
        """
INSERT INTO evals_evalcase (suite_id, name, input, fixtures, live_tools, checks, created_by_id, created_at,
    updated_at)
SELECT suite.id, 'case-' || c, 'Where is order ' || c || '?', '[]'::jsonb, '[]'::jsonb,
       '[{"kind": "cel", "name": "ships", "expr": "result.contains(\\"ships\\")"}]'::jsonb, %(admin)s,
       %(now)s - %(year)s, %(now)s - %(year)s
FROM evals_evalsuite AS suite, generate_series(0, %(cases)s - 1) AS c
""",
    ),
    (
        "eval runs",
        # Run r: of suite r %% suites, against its agent's current version, spread over the year
        # (a nightly run of every suite); one in ten fails a case, one in fifty errs.
        """
INSERT INTO evals_evalrun (id, suite_id, agent_version_id, status, gates_version, cases_total,
    cases_passed, cases_failed, cases_errored, input_tokens, output_tokens, cost_usd, created_by_id,
    created_at, finished_at)
SELECT md5('run' || r)::uuid, suite.id, agent.current_version_id,
       CASE WHEN r %% 50 = 7 THEN 'error' WHEN r %% 10 = 3 THEN 'failed' ELSE 'passed' END, false,
       %(cases)s, %(cases)s - CASE WHEN r %% 50 = 7 OR r %% 10 = 3 THEN 1 ELSE 0 END,
       CASE WHEN r %% 50 <> 7 AND r %% 10 = 3 THEN 1 ELSE 0 END, CASE WHEN r %% 50 = 7 THEN 1 ELSE 0 END,
       %(cases)s * 9000, %(cases)s * 700, %(cases)s * 0.004, %(admin)s,
       %(now)s - %(year)s + r * (%(year)s / %(eval_runs)s),
       %(now)s - %(year)s + r * (%(year)s / %(eval_runs)s) + interval '5 min'
FROM generate_series(0, %(eval_runs)s - 1) AS r
JOIN (SELECT id, agent_id, row_number() OVER (ORDER BY id) - 1 AS k FROM evals_evalsuite) AS suite
    ON suite.k = r %% %(suites)s
JOIN agents_agent AS agent ON agent.id = suite.agent_id
""",
    ),
    (
        "eval case results",
        """
INSERT INTO evals_evalcaseresult (run_id, case_id, case_name, status, check_specs, checks, input_tokens,
    output_tokens, cost_usd, judge_cost_usd, latency_ms, finished_at)
SELECT run.id, eval_case.id, eval_case.name,
       CASE WHEN run.status <> 'passed' AND eval_case.name = 'case-0' THEN run.status ELSE 'passed' END,
       eval_case.checks,
       jsonb_build_array(jsonb_build_object('check', 0, 'kind', 'cel', 'name', 'ships',
                         'passed', run.status = 'passed' OR eval_case.name <> 'case-0', 'error', '',
                         'detail', '')),
       9000, 700, 0.004, 0, 2500.0, run.finished_at
FROM evals_evalrun AS run JOIN evals_evalcase AS eval_case ON eval_case.suite_id = run.suite_id
""",
    ),
    (
        "memories",
        # Memory m: written by task m * tasks / memories for its session (one in ten by an admin
        # for the whole agent). Vectors of 8 dimensions under a model of the bench's own: the
        # pages never read them, and the HNSW index (of EMBEDDING_DIMENSIONS) does not take them.
        """
INSERT INTO agents_memory (agent_id, session_id, task_id, step_index, source_key, text, provenance,
    written_by_id, end_user, model, dimensions, embedding, created_at)
SELECT (%(agents)s::bigint[])[1 + (n / %(per_session)s) %% cardinality(%(agents)s::bigint[])],
       CASE WHEN m %% 10 = 0 THEN NULL ELSE md5('s' || (n / %(per_session)s))::uuid END,
       CASE WHEN m %% 10 = 0 THEN NULL ELSE md5('t' || n)::uuid END,
       CASE WHEN m %% 10 = 0 THEN NULL ELSE 4 END,
       CASE WHEN m %% 10 = 0 THEN NULL ELSE 'remember-' || m END,
       'The customer of order ' || n || ' prefers email.',
       CASE WHEN m %% 10 = 0 THEN 'admin' ELSE 'agent' END,
       CASE WHEN m %% 10 = 0 THEN %(admin)s
            ELSE (%(users)s::int[])[1 + (n / %(per_session)s) %% cardinality(%(users)s::int[])] END,
       CASE WHEN m %% 10 = 0 THEN '' ELSE 'customer-' || ((n / %(per_session)s) %% 997) END,
       'bench/embed', 8, array_fill(0.125, ARRAY[8])::vector, TASK_TIME + interval '20 s'
FROM (
    SELECT m, m::bigint * %(tasks)s / %(memories)s AS n FROM generate_series(0, %(memories)s - 1) AS m
) AS memories
""",
    ),
    (
        "alert firings",
        # Firing f: of rule f %% rules, resolved after an hour, all but the newest few.
        """
INSERT INTO tracing_alert (rule_id, subject, state, value, detail, fired_at, resolved_at)
SELECT rule.id, 'subject-' || f,
       CASE WHEN f >= %(alerts)s - 5 THEN 'firing' ELSE 'resolved' END,
       0.25, 'Bench firing ' || f || '.',
       %(now)s - %(year)s + f * (%(year)s / %(alerts)s),
       CASE WHEN f >= %(alerts)s - 5 THEN NULL
            ELSE %(now)s - %(year)s + f * (%(year)s / %(alerts)s) + interval '1 hour' END
FROM generate_series(0, %(alerts)s - 1) AS f
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM tracing_alertrule) AS rule
    ON rule.k = f %% (SELECT count(*) FROM tracing_alertrule)
""",
    ),
    (
        "guardrail alerts",
        """
INSERT INTO guards_guardalert (scope, scope_key, subject, ceiling_usd, spent_usd, at)
SELECT 'session', 'session:' || md5('s' || (g::bigint * %(sessions)s / %(guard_alerts)s)),
       md5('s' || (g::bigint * %(sessions)s / %(guard_alerts)s))::uuid::text, 1.0, 0.85,
       %(now)s - %(year)s + g * (%(year)s / %(guard_alerts)s)
FROM generate_series(0, %(guard_alerts)s - 1) AS g
""",
    ),
    (
        "versions and rollouts",
        # Every agent had a version a month, each rolled out to 10% and then promoted (one in
        # four rolled back instead): the agent's page lists them.
        """
WITH made AS (
    INSERT INTO agents_agentversion (agent_id, number, system_prompt, model, fallback_model, max_tokens,
        max_cost_usd, max_tool_calls, max_iterations, max_seconds, input_trust, status, created_as_draft,
        created_at)
    SELECT version.agent_id, 1 + v, version.system_prompt, version.model, version.fallback_model,
           version.max_tokens, version.max_cost_usd, version.max_tool_calls, version.max_iterations,
           version.max_seconds, version.input_trust, 'current', false,
           %(now)s - %(year)s + v * interval '30 days'
    FROM agents_agentversion AS version, generate_series(1, %(versions_per_agent)s - 1) AS v
    WHERE version.id = ANY(%(versions)s::bigint[])
    RETURNING id, agent_id, number, created_at
)
INSERT INTO agents_rollout (agent_id, baseline_id, canary_id, percent, status, failure_rate_multiple,
    cost_multiple, min_tasks, created_by_id, created_at, ended_at, ended_by_id, ended_reason)
SELECT canary.agent_id, coalesce(baseline.id, first.id), canary.id, 10,
       CASE WHEN canary.number %% 4 = 0 THEN 'rolled_back' ELSE 'promoted' END, 2.0, 1.5, 20, %(admin)s,
       canary.created_at, canary.created_at + interval '3 days', %(admin)s, ''
FROM made AS canary
JOIN agents_agentversion AS first ON first.agent_id = canary.agent_id AND first.number = 1
LEFT JOIN made AS baseline ON baseline.agent_id = canary.agent_id AND baseline.number = canary.number - 1
""",
    ),
    (
        "API tokens",
        # An admin's tokens over the year, most of them revoked.
        """
INSERT INTO console_apitoken (user_id, name, digest, hint, created_at, last_used_at, revoked_at)
SELECT %(admin)s, 'token ' || k, md5('token' || k) || md5('digest' || k), 'tg_' || k,
       %(now)s - %(year)s + k * (%(year)s / %(api_tokens)s), NULL,
       CASE WHEN k < %(api_tokens)s - 3 THEN %(now)s - %(year)s + (k + 1) * (%(year)s / %(api_tokens)s) END
FROM generate_series(0, %(api_tokens)s - 1) AS k
""",
    ),
]


def _print_sizes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        tables = (
            "agents_session",
            "agents_task",
            "agents_step",
            "tracing_span",
            "approvals_actionrequest",
            "approvals_auditentry",
            "approvals_externalaction",
            "agents_tool",
            "injection_detection",
            "evals_evalrun",
            "evals_evalcaseresult",
            "agents_memory",
            "tracing_alert",
            "guards_guardalert",
            "agents_agentversion",
            "agents_rollout",
        )
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant table names
            print(f"{table}: {cursor.fetchone()[0]:,} rows")


def _measure() -> dict[str, float]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agents.models import Task
    from console.tokens import api_token_create
    from core import clock
    from evals.models import EvalSuite
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

    # The year's last task and its session; the first suite and its newest run.
    task = Task.objects.order_by("-created_at").first()
    assert task is not None
    suite = EvalSuite.objects.order_by("pk").first()
    assert suite is not None
    run = suite.runs.order_by("-created_at").first()
    assert run is not None
    agent = "bench-agent-0"
    loads = {
        "queue_ms": page(browser, "/approvals/"),
        "sessions_ms": page(browser, "/"),
        "costs_30d_ms": page(browser, "/costs/?range=30d"),
        "report_ms": page(browser, f"/reports/daily/?day={yesterday}"),
        "approvals_api_ms": page(api, "/api/v1/approvals?status=pending"),
        "alert_eval_ms": lambda: alerts_evaluate(now=clock.now()),
        "agents_ms": page(browser, "/agents/"),
        "agent_ms": page(browser, f"/agents/{agent}/"),
        "session_ms": page(browser, f"/sessions/{task.session_id}/"),
        "task_ms": page(browser, f"/tasks/{task.pk}/"),
        "trace_rows_ms": page(browser, f"/tasks/{task.pk}/trace/rows/"),
        "alerts_ms": page(browser, "/alerts/"),
        "detections_ms": page(browser, "/injection/detections/"),
        "eval_suites_ms": page(browser, "/evals/"),
        "eval_suite_ms": page(browser, f"/evals/suites/{suite.pk}/"),
        "eval_run_ms": page(browser, f"/evals/runs/{run.pk}/"),
        "tokens_ms": page(browser, "/tokens/"),
        "memories_ms": page(browser, f"/memories/?agent={agent}"),
        "guards_ms": page(browser, "/guards/"),
        "tools_ms": page(browser, "/approvals/tools/"),
        "policy_ms": page(browser, "/approvals/policy/"),
        "metrics_ms": page(browser, "/metrics"),
        "api_tasks_ms": page(api, "/api/v1/tasks"),
        "api_sessions_ms": page(api, "/api/v1/sessions"),
        "api_agents_ms": page(api, "/api/v1/agents"),
        "api_versions_ms": page(api, f"/api/v1/agents/{agent}/versions"),
        "api_rollouts_ms": page(api, f"/api/v1/agents/{agent}/rollouts"),
        "api_memories_ms": page(api, f"/api/v1/agents/{agent}/memories"),
        "api_tools_ms": page(api, "/api/v1/tools"),
        "api_alerts_ms": page(api, "/api/v1/alerts"),
        "api_eval_suites_ms": page(api, "/api/v1/evals/suites"),
        "api_eval_runs_ms": page(api, "/api/v1/evals/runs"),
        "api_tokens_ms": page(api, "/api/v1/tokens"),
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
        # Counted on one more load, apart from the timed ones (capturing costs time).
        with CaptureQueriesContext(connection) as queries:
            load()
        results[name] = round(percentile(samples, 95), 1)
        p50 = percentile(samples, 50)
        print(
            f"{name}: cold {cold:.1f} ms, warm p50 {p50:.1f} ms, p95 {results[name]} ms, "
            f"{len(queries)} queries"
        )
    return results


if __name__ == "__main__":
    main()
