"""The end-to-end suite: Chromium (Debian's, /usr/bin/chromium or CHROMIUM) driven by Playwright against
the app started as `make run` starts it (tests/e2e/server.py), one server per test session.

Every journey runs at 1280 px and at 390 px wide; the desktop runs come first, then the phone runs
(so a second staff log-in finds a new TOTP step). tests/conftest.py skips the suite, with a banner,
where Chromium is missing (an error in CI)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.journey import DESKTOP, PHONE, Journey
from tests.e2e.server import Server, portal_server
from tests.e2e.wiring import chromium_path

TIMEOUT_MS = 20_000  # one page of a busy CI machine (two cores, the rest of the suite running beside)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def width_first(item: pytest.Item) -> int:
        callspec = getattr(item, "callspec", None)
        return 0 if callspec is None or callspec.params.get("width", DESKTOP) == DESKTOP else 1

    e2e = [item for item in items if "e2e" in item.keywords]
    if e2e:
        first = items.index(e2e[0])
        rest = [item for item in items if "e2e" not in item.keywords]
        items[:] = rest[:first] + sorted(e2e, key=width_first) + rest[first:]


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if os.environ.get("E2E_SERVER"):  # writing journeys: a server kept running (tests/e2e/server.py __main__)
        yield Server.load(Path(os.environ["E2E_SERVER"]))
        return
    with portal_server(tmp_path_factory.mktemp("e2e-server")) as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def customer_state(browser: Browser, portal: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo customer's logged-in session, logged in once and reused by the journeys that start there."""
    path = tmp_path_factory.mktemp("e2e-state") / "customer.json"
    context = browser.new_context(viewport={"width": DESKTOP, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    Journey(context.new_page(), base_url=portal.url, width=DESKTOP, name="session-customer").log_in()
    context.storage_state(path=path)
    context.close()
    return path


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1280", "390"])
def width(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _page(browser: Browser, width: int, state: Path | None) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": width, "height": 900 if width == DESKTOP else 844},
        storage_state=state,
        locale="en-GB",
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def visitor(browser: Browser, portal: Server, width: int, request: pytest.FixtureRequest) -> Iterator[Journey]:
    """A browser with nobody logged in."""
    for page in _page(browser, width, None):
        yield Journey(page, base_url=portal.url, width=width, name=request.node.name)


@pytest.fixture
def customer(
    browser: Browser, portal: Server, width: int, customer_state: Path, request: pytest.FixtureRequest
) -> Iterator[Journey]:
    """A browser with the demo customer logged in."""
    for page in _page(browser, width, customer_state):
        yield Journey(page, base_url=portal.url, width=width, name=request.node.name)
