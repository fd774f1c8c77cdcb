"""The demo: two logins, HTTP tools served by the simulator, and agents that use its scenarios."""

import json
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from agents.models import Agent, AgentVersion, Tool
from agents.tools.python import python_tools_sync
from console.embedded import STATE_DIR
from core.tiers import RiskTier

LOGINS_FILE = STATE_DIR / "demo-logins.json"

DEMO_TOOLS = {
    "lookup_order": ("Look up an order by id", {"order_id": {"type": "string"}}, ["order_id"], RiskTier.LOW),
    "issue_refund": (
        "Refund an order",
        {
            "order_id": {"type": "string"},
            "amount": {"type": "number", "minimum": 0},
            "reason": {"type": "string"},
        },
        ["order_id", "amount"],
        RiskTier.HIGH,
    ),
    "reverse_refund": (
        "Reverse a refund by its id (undoes issue_refund)",
        {"refund_id": {"type": "string"}},
        ["refund_id"],
        RiskTier.MEDIUM,
    ),
    "search_web": ("Search the web", {"query": {"type": "string"}}, ["query"], RiskTier.LOW),
    "check_inventory": ("Check stock for a SKU", {"sku": {"type": "string"}}, ["sku"], RiskTier.LOW),
}

DEMO_COMPENSATION_ARGUMENTS = {"refund_id": "result.data.refund_id"}

DEMO_AGENTS = {
    "support-bot": (
        "sim/refund",
        ["lookup_order", "issue_refund", "reverse_refund"],
        "You are a customer-support agent.",
    ),
    "researcher": ("sim/research", ["search_web"], "You research questions and cite sources."),
    "inventory-bot": ("sim/failing_tool", ["check_inventory"], "You answer stock questions."),
    "looper": ("sim/loop", ["search_web"], "You answer questions (this one is scripted to loop)."),
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def demo_load(*, simulator_url: str) -> list[DemoLogin]:
    """Create (or refresh) the demo data; idempotent. Returns the logins to print."""
    with transaction.atomic():
        logins = _users()
        python_tools_sync()
        for name, (description, properties, required, tier) in DEMO_TOOLS.items():
            Tool.objects.update_or_create(
                name=name,
                defaults={
                    "description": description,
                    "parameters": {"type": "object", "properties": properties, "required": required},
                    "kind": Tool.Kind.HTTP,
                    "url": f"{simulator_url}/tools/{name}",
                    "method": Tool.Method.POST,
                    "timeout_s": 10,
                    # The simulator's tools answer a repeated Idempotency-Key with the first answer.
                    "honours_idempotency_key": True,
                    "risk_tier": tier,
                },
            )
        # A refund is reversible: undo runs reverse_refund with the refund id it returned.
        Tool.objects.filter(name="issue_refund").update(
            compensation=Tool.objects.get(name="reverse_refund"),
            compensation_arguments=DEMO_COMPENSATION_ARGUMENTS,
        )
        for name, (model, tool_names, prompt) in DEMO_AGENTS.items():
            agent, _ = Agent.objects.get_or_create(name=name)
            if agent.current_version is None:
                version = AgentVersion.objects.create(
                    agent=agent, number=1, system_prompt=prompt, model=model, fallback_model=model
                )
                version.tools.set(Tool.objects.filter(name__in=tool_names))
                agent.current_version = version
                agent.save(update_fields=["current_version"])
    return logins


def _users() -> list[DemoLogin]:
    saved = json.loads(LOGINS_FILE.read_text()) if LOGINS_FILE.exists() else {}
    logins = []
    for username, role in (("admin", "admin"), ("reviewer", "reviewer")):
        user = User.objects.filter(username=username).first()
        password = saved.get(username)
        if user is None or password is None:
            password = secrets.token_urlsafe(9)
            user = user or User(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = role == "admin"
            user.save()
        if role == "reviewer":
            user.groups.add(Group.objects.get_or_create(name="reviewers")[0])
        saved[username] = password
        logins.append(DemoLogin(username=username, password=password, role=role))
    LOGINS_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOGINS_FILE.write_text(json.dumps(saved))
    LOGINS_FILE.chmod(0o600)
    return logins
