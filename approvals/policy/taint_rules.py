"""The default rules that tie prompt-injection taint to the risk policy (docs/injection.md).

They are ordinary raise rules, seeded by migration 0004 and edited or deleted like any other.
"""

from typing import Any

TAINT_RULES: tuple[dict[str, Any], ...] = (
    # Once a detector fired in the session, whatever is at medium or above waits for a person.
    {
        "tool": "*",
        "condition": 'session.suspicious && tier != "low"',
        "tier": "high",
        "raise_only": True,
        "priority": 1000,
    },
    # Untrusted text in the context, and the call carries a URL or e-mail address that no
    # trusted text of the session holds: where exfiltration would go.
    {
        "tool": "*",
        "condition": "session.tainted && size(unseen_addresses) > 0",
        "tier": "high",
        "raise_only": True,
        "priority": 999,
    },
)
