import re

from django.core.exceptions import ImproperlyConfigured

from console.env import env_bool, env_int, env_str
from console.settings.base import *  # noqa: F403
from console.settings.base import SECRET_KEY

if not SECRET_KEY or SECRET_KEY.startswith("dev-only"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
# Production never starts an embedded database or Redis: both must be named.
_MISSING = [name for name in ("DATABASE_URL", "REDIS_URL") if not env_str(name, "")]
if _MISSING:
    raise ImproperlyConfigured(
        f"{' and '.join(_MISSING)} must be set in production: DATABASE_URL=postgresql://USER:PASSWORD@HOST:"
        "5432/NAME (PostgreSQL 15+ with the vector extension), REDIS_URL=redis://HOST:6379/0"
    )
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# HTTPS only: plain HTTP is redirected, and browsers are told to use HTTPS for a year.
# A TLS-terminating proxy that already redirects may turn the redirect off.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Health probes come from inside the network over plain HTTP (a load balancer, Docker's
# healthcheck) and would not follow the redirect; their answers hold nothing to protect.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading binds the whole registrable domain into browsers for months: an owner's
    # decision (DJANGO_SECURE_HSTS_PRELOAD), not a default the console can take for them.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Only behind a proxy that sets this header on every request and drops a client's own: with it,
# a request the proxy marks "https" counts as secure (cookies, redirects, CSRF origin checks).
_PROXY_SSL_HEADER = env_str("DJANGO_SECURE_PROXY_SSL_HEADER", "")
if _PROXY_SSL_HEADER:
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", _PROXY_SSL_HEADER):
        raise ImproperlyConfigured(
            f"DJANGO_SECURE_PROXY_SSL_HEADER must be a header name such as X-Forwarded-Proto, "
            f"got {_PROXY_SSL_HEADER!r}"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
