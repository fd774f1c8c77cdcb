"""What /metrics serves: every process's recorded samples plus gauges read from the database."""

import hmac
import ipaddress
from collections.abc import Iterable, Sequence

from django.apps import apps
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _ApprovalQueueCollector(Collector):
    """Pending action requests, counted at scrape time (0 until the approvals queue exists)."""

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily("tollgate_approval_queue_depth", "Action requests waiting for a decision")
        gauge.add_metric([], _pending_approvals())
        yield gauge


def _pending_approvals() -> int:
    # Looked up by name: the approvals app may not define its model yet, and tracing must not
    # import approvals (which records spans through tracing).
    model_name = "ActionRequest"
    try:
        model = apps.get_model("approvals", model_name)
    except LookupError:
        return 0
    return int(model._default_manager.filter(status="pending").count())


def metrics_exposition(*, directory: str) -> bytes:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    registry.register(_ApprovalQueueCollector())
    return bytes(generate_latest(registry))


def metrics_access_allowed(
    *, authorization: str, remote_addr: str, token: str, networks: Sequence[str]
) -> bool:
    """A matching bearer token, or a caller inside one of the allowed networks."""
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
