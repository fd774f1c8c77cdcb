"""Importing settings starts nothing: no embedded PostgreSQL, no redis-server, no connection.

Only `manage.py` and the test suite start the embedded services (console/embedded.py);
production refuses to start without DATABASE_URL and REDIS_URL."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

# Every process start and every socket use in the child is reported by an audit hook, which
# is installed before Django, the settings, or any project module is imported.
CHILD = """
import json, sys
events = []
WATCHED = ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.system",
           "socket.connect", "socket.bind", "socket.getaddrinfo")
sys.addaudithook(lambda name, args: events.append(name) if name in WATCHED else None)
import django
django.setup()
from django.conf import settings
settings.DATABASES, settings.REDIS_URL, settings.CHANNEL_LAYERS
print(json.dumps(events))
"""

SECRET = "k3Jq9vXr2LmT8sWn4bYc7HdF1gZp6QeA0uRo5iEy" + "MxNaVbCtDsFwGhJkLz-_"


def import_settings(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "GUARD_REDIS_URL")}
    child.update(DJANGO_SETTINGS_MODULE=module, **env)
    return subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=child, capture_output=True, text=True)


@pytest.mark.parametrize("module", ["console.settings.dev", "console.settings.test"])
def test_importing_settings_without_urls_starts_no_process_and_opens_no_socket(module):
    result = import_settings(module)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_production_with_urls_imports_without_starting_or_connecting():
    result = import_settings(
        "console.settings.production",
        DJANGO_SECRET_KEY=SECRET,
        DATABASE_URL="postgresql://tollgate@db.example/tollgate",
        REDIS_URL="redis://redis.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("missing", [("DATABASE_URL",), ("REDIS_URL",), ("DATABASE_URL", "REDIS_URL")])
def test_production_without_a_url_refuses_to_start_and_names_it(missing):
    urls = {
        "DATABASE_URL": "postgresql://tollgate@db.example/tollgate",
        "REDIS_URL": "redis://redis.example/0",
    }
    env = {name: url for name, url in urls.items() if name not in missing}
    result = import_settings("console.settings.production", DJANGO_SECRET_KEY=SECRET, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{' and '.join(missing)} must be set in production" in result.stderr
