"""The Content-Security-Policy: on every response, and nothing in the console needs an exception."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.support.processes import ROOT

# Inline code the policy refuses: a <script> without src, a <style> element, a style attribute,
# an on* handler attribute, a javascript: URL.
INLINE = re.compile(
    r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE
)


def test_every_page_carries_a_policy_without_inline_exceptions(client, db):
    policy = client.get(reverse("console:login"))["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


@pytest.mark.parametrize(
    "path",
    sorted(p.relative_to(ROOT) for p in (ROOT / "templates").rglob("*.html")),
    ids=str,
)
def test_no_template_holds_inline_code(path: Path):
    source = (ROOT / path).read_text()
    assert INLINE.findall(source) == []
