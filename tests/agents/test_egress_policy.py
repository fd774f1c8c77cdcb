"""The egress policy on its own: which addresses are internal, and what TOOL_EGRESS_ALLOW's entries mean."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from agents.tools.egress import address_refusal, egress_allow_parse, egress_host_allowed, egress_refusal

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("fd12:3456::1", "private"),  # ULA
        ("fd00:ec2::254", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - a destination under test, not a bind
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("233.252.0.1", "multicast"),  # is_global in the ipaddress module, yet multicast
        ("ff02::1", "multicast"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),  # documentation range
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 of the metadata address
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("fec0::1", "site-local"),
    ],
)
def test_internal_addresses_have_a_reason(address, reason):
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101"]
)
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_a_network_entry_allows_its_addresses_on_any_port_or_on_its_own():
    rules = egress_allow_parse(["10.20.0.0/16", "127.0.0.1:8765", "[::1]:8765"])

    def refused(address: str, port: int) -> bool:
        return (
            egress_refusal(host="h", port=port, addresses=[ipaddress.ip_address(address)], rules=rules)
            is not None
        )

    assert not refused("10.20.3.4", 443)
    assert refused("10.21.0.1", 443)
    assert not refused("127.0.0.1", 8765)
    assert refused("127.0.0.1", 6379)
    assert not refused("::1", 8765)
    assert not refused("::ffff:127.0.0.1", 8765), "the mapped form of an allowed address is allowed"
    assert refused("::1", 6379)


def test_a_host_name_entry_matches_the_name_whatever_its_case_or_trailing_dot():
    rules = egress_allow_parse(["Tools.Internal.", "localhost:8765"])

    assert egress_host_allowed(host="tools.internal", port=443, rules=rules)
    assert egress_host_allowed(host="TOOLS.internal.", port=80, rules=rules)
    assert not egress_host_allowed(host="evil.tools.internal", port=443, rules=rules)
    assert egress_host_allowed(host="localhost", port=8765, rules=rules)
    assert not egress_host_allowed(host="localhost", port=6379, rules=rules)


def test_one_refused_address_refuses_the_whole_name():
    addresses = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    refusal = egress_refusal(host="rebind.example", port=80, addresses=addresses, rules=())

    assert refusal is not None
    assert refusal.message == (
        "the destination rebind.example (127.0.0.1) is a loopback address and is not allowed; "
        "an admin may allow it in TOOL_EGRESS_ALLOW"
    )


@pytest.mark.parametrize(
    "entry",
    [
        "not a host",
        "[::1",
        "[::1]8765",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "host:port",
        "-bad.example",
        "a..b",
    ],
)
def test_a_bad_entry_is_named_with_the_setting(entry):
    with pytest.raises(ImproperlyConfigured, match=r"TOOL_EGRESS_ALLOW: .* is not a CIDR"):
        egress_allow_parse([entry])


def test_a_bad_tool_egress_allow_stops_start_up():
    env = {**os.environ, "TOOL_EGRESS_ALLOW": "10.0.0.0/8,not a host"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert loaded.returncode != 0
    assert "TOOL_EGRESS_ALLOW: 'not a host' is not a CIDR" in loaded.stderr
