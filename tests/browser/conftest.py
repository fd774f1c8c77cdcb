"""Playwright (sync API) driving Debian's chromium against pytest-django's live server."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.support.processes import running_web

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Module scope, not session: the sync API's event loop must stop before tests outside
# tests/browser run, or their async_to_sync calls (Channels test clients) refuse to run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (make browsers)"
        # In CI a missing browser is a broken build, never a silently skipped suite.
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    # Playwright's sync API keeps an event loop running in this thread, and Django refuses
    # ORM calls (the tests' own, and the database flush between tests) from such a thread.
    with (
        mock.patch.dict(os.environ, {"DJANGO_ALLOW_ASYNC_UNSAFE": "true"}),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def csp_checked(page: Page) -> Iterator[Page]:
    """Fails the test if chromium refused anything under the Content-Security-Policy (an inline
    script, style or handler, a connection elsewhere): the console must work under its policy."""
    refused: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", listen)
    yield page
    assert not refused, "\n".join(refused)


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        with csp_checked(page):
            yield page
    finally:
        context.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the ASGI app on the test database, for pages that use a WebSocket."""
    with running_web(tmp_path) as url:
        yield url


@pytest.fixture
def web_page(browser: Browser, web: str) -> Iterator[Page]:
    context = browser.new_context(base_url=web)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        with csp_checked(page):
            yield page
    finally:
        context.close()


@pytest.fixture
def dialogs(web_page: Page) -> list[str]:
    """The messages of any dialogs (alert, confirm) the page opened: a hostile payload's tell."""
    opened: list[str] = []

    def record(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    web_page.on("dialog", record)
    return opened
