"""Browser tests: Tessera under gunicorn, driven by Debian's headless Chromium.

Playwright drives /usr/bin/chromium (installed by `make browsers`); no browser
is ever downloaded. Without it the tests skip and say why. Every page a test
visits is screenshotted under test-artifacts/ and checked with axe-core.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browsing import CHROMIUM, CHROMIUM_ARGS, Browsing
from live import live_server, server_env

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make browsers` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live_url(app, migrated, tmp_path):
    """Tessera under gunicorn on the test databases, sharing `app`'s secrets."""
    env = server_env(migrated, Path(app.config["TESSERA_INSTANCE_DIR"]))
    with live_server(env, workers=1, log_path=tmp_path / "server.log") as base_url:
        yield base_url


@pytest.fixture
def browsing(browser, live_url, request):
    """A fresh browser context (no cookies) whose visits leave screenshots and checks."""
    context = browser.new_context(base_url=live_url, viewport={"width": 1200, "height": 900})
    folder = ARTIFACTS / request.node.name
    yield Browsing(context.new_page(), folder)
    context.close()
