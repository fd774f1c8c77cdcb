import logging
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.dev")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from console.health import QuietHealthyProbes  # noqa: E402

# Here rather than in LOGGING: configuring uvicorn's logger there would replace its handlers.
logging.getLogger("uvicorn.access").addFilter(QuietHealthyProbes())

from console.api_threads import ThreadedApiASGIHandler  # noqa: E402

django_asgi_app = ThreadedApiASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import reverse  # noqa: E402

from console.asgi_types import ASGIApp  # noqa: E402
from console.body_limit import BodyLimit  # noqa: E402
from console.gate_fast_path import GateFastPath  # noqa: E402
from console.routing import websocket_urlpatterns  # noqa: E402

routes = ProtocolTypeRouter(
    {
        # The gate API's ask skips Django's ASGI handler (console/gate_fast_path.py); the rest is Django's.
        "http": GateFastPath(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


def body_limited(app: ASGIApp) -> BodyLimit:
    """`app` with every HTTP body bounded as it arrives (console/body_limit.py): the OTLP
    receiver by its own, larger setting, every other path by DATA_UPLOAD_MAX_MEMORY_SIZE.
    Outermost, so no handler below reads a body past its bound."""
    return BodyLimit(app, limit_settings={reverse("otlp-traces"): "OTLP_MAX_BODY_BYTES"})


application = body_limited(routes)
