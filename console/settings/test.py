import os
import tempfile
import uuid

# Each test run is an instance of its own (its Celery queue and keys, Channels groups and guard
# counters), so that stale messages from an earlier run never reach this run's workers; worker
# processes the tests start inherit it. Derived from the database name it would differ between
# this process (the configured name) and its children (given the test database's URL).
os.environ.setdefault("TOLLGATE_INSTANCE", f"test-{uuid.uuid4().hex[:8]}")

# Metrics samples of this run (the test process and the workers it starts) in a folder of its own.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tollgate-metrics-"))

# Anchors of this run apart from those of `make run` in .tollgate/.
os.environ.setdefault(
    "AUDIT_ANCHOR_FILE", os.path.join(tempfile.mkdtemp(prefix="tollgate-audit-"), "anchors.jsonl")
)

from console.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker a test starts may write its mail to files instead, where that test reads them.
EMAIL_BACKEND = os.environ.get("TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("TEST_EMAIL_FILE_PATH", tempfile.gettempdir())

# Parallel test runs on one database server each name their own test database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_tollgate")}

# The tests' tool servers listen on loopback; the SSRF tests (tests/agents/test_tool_egress.py)
# set this back to nothing to show the refusal.
TOOL_EGRESS_ALLOW = [*TOOL_EGRESS_ALLOW, "127.0.0.0/8", "::1"]

# Each test sees the approval metrics of its own rows; the cache has its own test.
APPROVAL_METRICS_CACHE_S = 0

# The tests' own simulator scenarios (tests/scenarios), which the tests' simulator serves, are
# names an agent may be created with.
SIM_SCENARIOS = [*SIM_SCENARIOS, str(BASE_DIR / "tests" / "scenarios")]
