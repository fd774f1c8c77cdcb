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

from console.gate_fast_path import GateFastPath  # noqa: E402
from console.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The gate API's ask skips Django's ASGI handler (console/gate_fast_path.py); the rest is Django's.
        "http": GateFastPath(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
