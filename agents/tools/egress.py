"""Where HTTP tools may connect: public addresses, plus what TOOL_EGRESS_ALLOW adds.

A tool's answer reaches whoever ran the task, so a tool must not become a way into the
machine's own network: loopback's /metrics, Redis, a cloud metadata service. The decision is
made on the addresses a connection would use (agents/tools/egress_transport.py), because a
host name can resolve anywhere, and differently each time.
"""

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "TOOL_EGRESS_ALLOW"
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 6598: not private in the ipaddress module's sense, yet not reachable from the internet.
CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")
# RFC 6052's well-known NAT64 prefix: the last 32 bits are the IPv4 address a packet reaches.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*")


@dataclass(frozen=True)
class EgressRule:
    """One TOOL_EGRESS_ALLOW entry: a network or a host name, on any port or on one."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    def allows_host(self, host: str, port: int) -> bool:
        return self.host is not None and self.host == _normal_host(host) and self.port in (None, port)

    def allows_address(self, address: IPAddress, port: int) -> bool:
        if self.network is None or self.port not in (None, port):
            return False
        translated = _translated(address)
        return address in self.network or (translated is not None and translated in self.network)


@dataclass(frozen=True)
class EgressRefusal:
    host: str
    address: IPAddress
    reason: str

    @property
    def message(self) -> str:
        shown = self.host if self.host == str(self.address) else f"{self.host} ({self.address})"
        return (
            f"the destination {shown} is a {self.reason} address and is not allowed; "
            f"an admin may allow it in {SETTING}"
        )


class EgressRefused(Exception):
    """Raised at connect time, before any packet is sent to a refused address."""

    def __init__(self, refusal: EgressRefusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def egress_allow_parse(entries: Iterable[str]) -> tuple[EgressRule, ...]:
    """TOOL_EGRESS_ALLOW's entries as rules. Raises ImproperlyConfigured naming a bad entry.

    An entry is a CIDR, an address or a host name, each optionally with `:port`
    (`10.0.0.0/8`, `127.0.0.1:8765`, `[::1]:8765`, `tools.internal`).
    """
    return tuple(_rule(entry.strip()) for entry in entries if entry.strip())


def egress_allow_rules() -> tuple[EgressRule, ...]:
    """The rules of the TOOL_EGRESS_ALLOW setting in force (read per call, so tests may override it)."""
    return _rules(tuple(getattr(settings, SETTING)))


def egress_host_allowed(*, host: str, port: int, rules: Sequence[EgressRule]) -> bool:
    """Whether an admin allowed this host name by name, wherever it resolves."""
    return any(rule.allows_host(host, port) for rule in rules)


def egress_refusal(
    *, host: str, port: int, addresses: Sequence[IPAddress], rules: Sequence[EgressRule]
) -> EgressRefusal | None:
    """The first address a connection to `host` could use that is neither public nor allowed."""
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None and not any(rule.allows_address(address, port) for rule in rules):
            return EgressRefusal(host=host, address=address, reason=reason)
    return None


def egress_url_refusal(url: str) -> EgressRefusal | None:
    """The refusal of a URL whose host is a literal address; a host name is only known at connect time."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        return None
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return egress_refusal(host=host, port=port, addresses=[address], rules=egress_allow_rules())


def address_refusal(address: IPAddress) -> str | None:
    """Why a packet to `address` could reach something that is not the public internet, or None."""
    translated = _translated(address)
    if translated is not None:
        return _own_refusal(translated)
    # A tunnel's IPv4 endpoint first: it names the reason best (2002:7f00:1:: is "loopback").
    for form in (*_tunnel_endpoints(address), address):
        reason = _own_refusal(form)
        if reason is not None:
            return reason
    return None


def _own_refusal(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in CARRIER_GRADE_NAT:
        return "carrier-grade NAT"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "non-public"
    return None


def _translated(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 address is translated to: the one a packet reaches."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _tunnel_endpoints(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a 6to4 or Teredo address carries, either of which a packet may reach."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    if address.sixtofour is not None:
        return [address.sixtofour]
    return list(address.teredo or ())


@lru_cache(maxsize=8)
def _rules(entries: tuple[str, ...]) -> tuple[EgressRule, ...]:
    return egress_allow_parse(entries)


def _rule(entry: str) -> EgressRule:
    host, port = _split_port(entry)
    try:
        return EgressRule(network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        pass
    name = _normal_host(host)
    if not _HOST_NAME.fullmatch(name):
        raise _bad(entry)
    return EgressRule(host=name, port=port)


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise _bad(entry)
        return host, _port(entry, rest[1:]) if rest else None
    # More than one colon is a bare IPv6 address or network, which takes no port without brackets.
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(entry, port)
    return entry, None


def _port(entry: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise _bad(entry)
    return int(text)


def _normal_host(host: str) -> str:
    return host.lower().removesuffix(".")


def _bad(entry: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"{SETTING}: {entry!r} is not a CIDR, an address or a host name (each optionally with :port)"
    )
