"""chromium enforces the console's Content-Security-Policy: injected markup does not run."""

import pytest
from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_injected_script_or_handler_does_not_run(browser: Browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text))
        page.goto("/login/")

        # What an escaping bug would let through: an inline handler and an inline script.
        page.evaluate(
            """() => {
              document.body.insertAdjacentHTML("beforeend",
                '<img id="probe" src="/missing.png" onerror="document.body.dataset.handler = 1">');
              const script = document.createElement("script");
              script.textContent = "document.body.dataset.script = 1";
              document.body.appendChild(script);
            }"""
        )
        page.wait_for_function("() => document.getElementById('probe').complete")

        assert page.evaluate("() => ({...document.body.dataset})") == {}
        assert any("Content Security Policy" in text for text in refused)
    finally:
        context.close()
