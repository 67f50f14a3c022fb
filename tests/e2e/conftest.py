"""End-to-end tests in a real browser (headless Chromium from Debian, Playwright's sync API)
against a real `logistics serve` on SQLite, one server per test module.

Fixtures:
* `server`: the served app with the demo data and an API token per demo account (module scope);
* `browser`: one headless Chromium per test module (not per session: Playwright's sync API keeps
  its event loop marked as running in the main thread while it is open, and an asyncio test of
  another file in the same worker then cannot start its own loop; tests/conftest.py checks that
  no module leaves a loop running);
* `sign_in(user, width=...)`: a new browser context signed in through /login, as a page;
  `ada`, `dorothy`, `stores` and `beamline` are those pages for the demo accounts;
* `screenshot(page)`: saves the page into artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.api.conftest import Server, start_server
from tests.conftest import stop

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("e2e-server")
    process, served = start_server(f"sqlite:///{cwd / 'logistics.db'}", cwd)
    try:
        yield served
    finally:
        stop(process)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def sign_in(browser: Browser, server: Server) -> Iterator[Callable[..., Page]]:
    """A factory: a fresh context (its own cookies) signed in as `user`, at `width` pixels wide.

    Uncaught JavaScript errors on any of these pages fail the test at teardown."""
    contexts = []
    errors: list[str] = []

    def open_as(user: str, width: int = WIDTH, height: int = HEIGHT) -> Page:
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{user}: {error}"))
        page.goto("/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", user + "-at-the-facility")
        with page.expect_navigation():
            page.click("form[action='/login'] button[type=submit]")
        assert "/login" not in page.url, f"{user} could not sign in: {page.content()[:500]}"
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not errors, f"uncaught JavaScript errors: {errors}"


@pytest.fixture
def ada(sign_in: Callable[..., Page]) -> Page:
    return sign_in("ada")


@pytest.fixture
def dorothy(sign_in: Callable[..., Page]) -> Page:
    return sign_in("dorothy")


@pytest.fixture
def stores(sign_in: Callable[..., Page]) -> Page:
    return sign_in("stores")


@pytest.fixture
def beamline(sign_in: Callable[..., Page]) -> Page:
    return sign_in("beamline")


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Saves the page (full length) as artifacts/screenshots/<test name>[-<suffix>].png."""
    def take(page: Page, suffix: str = "") -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", request.node.name) + (f"-{suffix}" if suffix else "")
        path = SCREENSHOTS / (name + ".png")
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


PHONE, DESKTOP = 390, 1366
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def at_both_widths(screenshot: Callable[..., Path]) -> Callable[[Page], None]:
    """Shows the page at a phone's 390 px and a laptop's 1366 px: it must not scroll sideways at
    either, and a screenshot of each is saved (<test name>-390.png, -1366.png)."""
    def check(page: Page) -> None:
        for width in (PHONE, DESKTOP):
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.wait_for_timeout(100)
            overflow = page.evaluate(SIDEWAYS)
            screenshot(page, str(width))
            assert overflow <= 0, f"{page.url} scrolls {overflow} px sideways at {width} px"
    return check
