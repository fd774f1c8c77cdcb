"""A client for destinations an administrator set (PagerDuty, escalation and alert webhooks, the
audit anchor): through the environment's proxies, as httpx itself would go, each exchange still
under `bounded_exchange`'s one deadline.

httpx applies HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY only when it builds its own
transport; a client given a DeadlineTransport would go direct, and a deployment whose only way
out is a proxy would stop paging. So the proxies are resolved here the way httpx resolves them
and mounted as DeadlineTransports.

Not for a URL a client chose (decision callbacks, HTTP tools, the external classifier): those go
through the egress guard, which checks the address it connects to, and a proxy would connect on
their behalf past the check.
"""

import httpx
from httpx._utils import get_environment_proxies  # httpx's own reading of the variables

from core.bounded_http import DeadlineTransport


def environment_proxied_client(*, limits: httpx.Limits) -> httpx.Client:
    """An httpx.Client (redirects never followed) whose every route, direct or through a proxy
    of the environment, obeys `bounded_exchange`'s deadline. Raises httpx.ProxyError for a proxy
    scheme it cannot use (socks5)."""
    mounts: dict[str, httpx.BaseTransport | None] = {
        # None: NO_PROXY's patterns, sent by the direct transport.
        pattern: None if url is None else DeadlineTransport(limits=limits, proxy=httpx.Proxy(url))
        for pattern, url in get_environment_proxies().items()
    }
    return httpx.Client(transport=DeadlineTransport(limits=limits), mounts=mounts, follow_redirects=False)
