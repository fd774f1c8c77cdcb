"""The external classifier the operator configured (INJECTION_CLASSIFIER_URL), or None.

Its connections go through the HTTP tools' egress guard: a model server on the machine's own
network is reached only when TOOL_EGRESS_ALLOW names it, like any other private address.
"""

from functools import lru_cache

import httpx
from django.conf import settings

from agents.tools.egress_transport import EgressGuardedTransport
from injection.detect.external import ExternalClassifier

_LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=4)


def external_classifier() -> ExternalClassifier | None:
    """Read per call, so a test may override the settings; one client per configuration."""
    url = settings.INJECTION_CLASSIFIER_URL
    if not url:
        return None
    return _classifier(
        url, settings.INJECTION_CLASSIFIER_TIMEOUT_S, settings.INJECTION_CLASSIFIER_FAIL_CLOSED
    )


@lru_cache(maxsize=4)
def _classifier(url: str, timeout_s: float, fail_closed: bool) -> ExternalClassifier:
    return ExternalClassifier(
        url=url,
        timeout_s=timeout_s,
        fail_closed=fail_closed,
        transport=EgressGuardedTransport(limits=_LIMITS),
    )
