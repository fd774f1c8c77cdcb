from django.core.exceptions import ImproperlyConfigured

from console.settings.base import *  # noqa: F403
from console.settings.base import SECRET_KEY

if SECRET_KEY.startswith("dev-only"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
