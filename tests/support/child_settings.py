"""Settings as a fresh process derives them from its environment."""

import json
import os
import subprocess
import sys

from tests.support.processes import ROOT

# Variables the test run sets for its own processes, which a child asked about must not inherit.
_TEST_RUN_ONLY = {"TOLLGATE_INSTANCE", "CELERY_QUEUE"}


def child_settings(
    names: list[str], *, module: str = "console.settings.dev", **env: str
) -> subprocess.CompletedProcess[str]:
    """Import `module` in a new interpreter with `env`; print `names` as JSON (see `settings_json`)."""
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}, default=str))"
    )
    child = {k: v for k, v in os.environ.items() if k not in _TEST_RUN_ONLY}
    child.update(DJANGO_SETTINGS_MODULE=module, **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child, capture_output=True, text=True)


def settings_json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
