"""Save-time limits on a condition: the same refusal over REST, in the rules form and the dry run."""

import pytest
from django.test import Client

from agents.models import Tool
from approvals.models import PolicyRule, PolicyVersion
from core.cel.conditions import ConditionError, condition_check
from core.cel.limits import (
    MAX_CONDITION_CHARS,
    MAX_DEPTH,
    MAX_MACRO_NESTING,
    MAX_MACROS,
    condition_has_no_macro,
    condition_shape,
)


def nested_maps(levels: int, width: int) -> str:
    """The attack's shape: `levels` nested `.map`s over literal lists of `width` numbers."""
    items = "[" + ",".join(str(n) for n in range(width)) + "]"
    names = [f"v{level}" for level in range(levels)]
    body = "+".join(names)
    for name in reversed(names):
        body = f"{items}.map({name}, {body})"
    return f"{body}.size() > 0"


ATTACK = nested_maps(5, 59)  # 915 characters, like the one that froze a web process for 147 s
FORM = {
    "tool": "issue_refund",
    "tier": "high",
    "delay_s": 300,
    "approvals_required": 1,
    "reviewer_group": "reviewers",
    "priority": 0,
}


def test_the_attack_condition_is_about_the_size_reported():
    assert 880 <= len(ATTACK) <= 960


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ("args.amount > " + "1" * MAX_CONDITION_CHARS, f"the limit is {MAX_CONDITION_CHARS}"),
        ("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1), f"deep; the limit is {MAX_DEPTH}"),
        (
            " && ".join(f"[{n}].exists(x, x > 0)" for n in range(MAX_MACROS + 1)),
            f"macros (map, filter, all, exists, exists_one); the limit is {MAX_MACROS}",
        ),
        (
            nested_maps(MAX_MACRO_NESTING + 1, 2),
            f"nests comprehension macros 3 deep; the limit is {MAX_MACRO_NESTING}",
        ),
    ],
    ids=["length", "depth", "macros", "macro-nesting"],
)
def test_each_limit_refuses_a_condition_and_names_itself(source, limit):
    with pytest.raises(ConditionError, match=limit.replace("(", r"\(").replace(")", r"\)")):
        condition_check(source)


def test_conditions_that_real_rules_use_pass():
    for source in [
        "args.amount > 100",
        'args.to.endsWith("@acme.com") && !args.to.startsWith("ceo")',
        'args.items.exists(i, i.price > 500 && i.sku.startsWith("GIFT"))',
        "args.orders.exists(o, o.items.exists(i, i.price > 1000))",
        'args.country in ["US", "CA", "MX", "GB", "IE", "FR", "DE", "ES", "IT", "PT", "NL", "BE"]',
    ]:
        condition_check(source)


def test_strings_and_comments_hide_neither_macros_nor_brackets():
    """The limits read tokens as CEL does: a raw string ends at its first quote, an escaped
    quote does not end a string, and brackets or macro names inside strings do not count."""
    assert condition_shape(r'r"\" == "x" || [1].map(a, [2].map(b, a)).size() > 0 // "').macro_nesting == 2
    assert condition_shape(r'"\" [1].map(" == "x"').macros == 0
    assert condition_shape('"((((((((((" == "x"').depth == 0
    assert condition_shape('"""a\n[1].map(x, x)""" == "x"').macros == 0
    # In-process evaluation only trusts text without any macro name at all, strings included.
    assert not condition_has_no_macro('"map" == args.kind')
    assert condition_has_no_macro("args.amount > 100")


@pytest.mark.django_db
def test_the_attack_condition_is_refused_over_rest_naming_the_limit(admin_api):
    Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/", risk_tier="medium")
    response = admin_api.post(
        "/api/v1/policy/rules",
        {"tool": "issue_refund", "tier": "high", "condition": ATTACK},
        content_type="application/json",
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "condition"
    assert f"the limit is {MAX_CONDITION_CHARS}" in error["message"]

    # Within the length, the nesting is what is refused.
    shorter = nested_maps(3, 2)
    response = admin_api.post(
        "/api/v1/policy/rules",
        {"tool": "issue_refund", "tier": "high", "condition": shorter},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "nests comprehension macros 3 deep" in response.json()["error"]["message"]
    assert not PolicyRule.objects.exists()
    assert not PolicyVersion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/approvals/policy/", "/approvals/dry-run/"])
def test_the_attack_condition_is_refused_by_the_rules_form_and_the_dry_run(admin, path):
    Tool.objects.create(name="issue_refund", url="http://127.0.0.1:9/", risk_tier="medium")
    client = Client()
    client.force_login(admin)
    response = client.post(path, {**FORM, "condition": ATTACK, "days": 7})
    assert response.status_code == 200
    errors = response.context["form"].errors["condition"]
    assert errors == [f"the condition has {len(ATTACK)} characters; the limit is {MAX_CONDITION_CHARS}"]
    assert response.context.get("report") is None
    assert not PolicyRule.objects.exists()
