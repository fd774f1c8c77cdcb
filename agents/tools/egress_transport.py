"""An httpx transport whose connect step resolves, checks and connects to the checked address.

Checking a URL's host and then letting the socket resolve it again would be open to DNS
rebinding (a public answer for the check, loopback for the connection). Here the name is
resolved once per connection, every address is checked (agents.tools.egress), and the
socket is opened to one of exactly those addresses. TLS still verifies, and SNI and Host
still name, the URL's host: httpcore takes both from the request, not from the socket.
Its sockets obey core.bounded_http's deadline for the whole exchange.
"""

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

from agents.tools.egress import (
    EgressRefused,
    IPAddress,
    egress_allow_rules,
    egress_host_allowed,
    egress_refusal,
)
from core.bounded_http import DeadlineBackend, DeadlineTransport


class EgressGuardedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        # Each address tried within the exchange's deadline, not a full timeout apiece.
        self._inner = DeadlineBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        options = list(socket_options or [])
        rules = egress_allow_rules()
        if egress_host_allowed(host=host, port=port, rules=rules):
            return self._inner.connect_tcp(host, port, timeout, local_address, options)
        addresses = _resolve(host, port)
        refusal = egress_refusal(host=host, port=port, addresses=addresses, rules=rules)
        if refusal is not None:
            raise EgressRefused(refusal)
        # Each address in resolver order, as socket.create_connection tries them; the last one's
        # failure is the one reported.
        for address in addresses[:-1]:
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, options)
            except httpcore.ConnectError:
                continue
        return self._inner.connect_tcp(str(addresses[-1]), port, timeout, local_address, options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class EgressGuardedTransport(DeadlineTransport):
    """httpx's transport over a pool that connects through EgressGuardedBackend.

    No proxy: a proxy would connect on the tool's behalf, past the check.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, backend=EgressGuardedBackend())


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = [
        ipaddress.ip_address(sockaddr[0])
        for family, _, _, _, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no IP address")
    return list(dict.fromkeys(addresses))
