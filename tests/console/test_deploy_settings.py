"""Production settings: `check --deploy` is clean, HTTPS is enforced, the proxy header is opt-in."""

import os
import subprocess
import sys

from django.conf import settings

from tests.support.child_settings import child_settings, settings_json
from tests.support.processes import ROOT

PRODUCTION = "console.settings.production"
# 64 characters of 30-odd distinct ones: what `check --deploy` asks of a secret key.
SECRET = "k3Jq9vXr2LmT8sWn4bYc7HdF1gZp6QeA0uRo5iEy" + "MxNaVbCtDsFwGhJkLz-_"


def production_env(**extra: str) -> dict[str, str]:
    return {"DJANGO_SECRET_KEY": SECRET, "REDIS_URL": settings.REDIS_URL, **extra}


def test_check_deploy_reports_no_issue_on_production_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(production_env(DJANGO_SETTINGS_MODULE=PRODUCTION))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_redirects_to_https_and_pins_it_for_a_year_by_default():
    got = settings_json(
        child_settings(
            [
                "SECURE_SSL_REDIRECT",
                "SECURE_HSTS_SECONDS",
                "SECURE_HSTS_INCLUDE_SUBDOMAINS",
                "SECURE_HSTS_PRELOAD",
                "SECURE_PROXY_SSL_HEADER",
                "SESSION_COOKIE_SECURE",
                "CSRF_COOKIE_SECURE",
            ],
            module=PRODUCTION,
            **production_env(),
        )
    )
    assert got == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,  # trusted only when configured
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }


def test_each_https_setting_has_its_override():
    got = settings_json(
        child_settings(
            ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER"],
            module=PRODUCTION,
            **production_env(
                DJANGO_SECURE_SSL_REDIRECT="false",
                DJANGO_SECURE_HSTS_SECONDS="600",
                DJANGO_SECURE_HSTS_PRELOAD="true",
                DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
            ),
        )
    )
    assert got == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_a_malformed_proxy_header_or_missing_secret_stops_start_up_naming_the_variable():
    bad_header = child_settings(
        ["SECURE_PROXY_SSL_HEADER"],
        module=PRODUCTION,
        **production_env(DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https"),
    )
    assert bad_header.returncode != 0
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" in bad_header.stderr

    no_secret = child_settings(["DEBUG"], module=PRODUCTION, **production_env(DJANGO_SECRET_KEY=""))
    assert no_secret.returncode != 0
    assert "DJANGO_SECRET_KEY" in no_secret.stderr
