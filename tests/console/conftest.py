"""The console in a real browser: Debian's headless Chromium driven by selenium, against the app
under devhost (manual clock), over real HTTP.

`make test` installs `chromium` and `chromium-driver` with apt when they are missing. Screenshots
go to `.artifacts/console/` (or $CONSOLE_ARTIFACTS) for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT
from tests.e2e.conftest import App, start_app  # noqa: F401  (the app fixture factory)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
WINDOW_WIDTH, WINDOW_HEIGHT = 1440, 1000
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", ROOT / ".artifacts" / "console"))


class Console:
    """The console as a person uses it: open a view, read what it shows, fill forms, look."""

    def __init__(self, driver: webdriver.Chrome, app: App) -> None:
        self.driver = driver
        self.app = app

    def url(self, fragment: str = "#/") -> str:
        return f"{self.app.host.base_url}/api/console{fragment}"

    def open(self, fragment: str = "#/") -> None:
        """Load the console afresh at `fragment` (a fragment change alone would keep the DOM)."""
        self.driver.get("about:blank")
        self.driver.get(self.url(fragment))

    def wait(self, condition: Callable[[webdriver.Chrome], object], what: str, timeout=30.0):
        """Wait until `condition(driver)` is truthy (the DOM is polled, never slept on)."""
        return WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.05,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(condition, message=what)

    def find(self, css: str) -> WebElement:
        return self.wait(lambda d: _first(d, css), f"an element matching {css}")

    def text(self, css: str) -> str:
        return self.find(css).text

    def rows(self) -> dict[str, WebElement]:
        """The queue's rows by instance id (none while no table shows)."""
        pairs = self.driver.execute_script(
            "return [...document.querySelectorAll('#queue tbody tr')]"
            ".map(row => [row.dataset.instance, row]);"
        )  # one call, not one per row
        return dict(pairs)

    def alert_open(self) -> bool:
        try:
            self.driver.switch_to.alert  # noqa: B018  (raises when there is none)
        except NoAlertPresentException:
            return False
        return True

    def csp_violations(self) -> list[str]:
        """Console messages in which the browser reports a Content-Security-Policy refusal."""
        logs = self.driver.get_log("browser")
        return [entry["message"] for entry in logs if "Content Security Policy" in entry["message"]]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        width = self.driver.get_window_size()["width"]
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(width, max(int(height) + 140, 600))  # the whole page
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(width, WINDOW_HEIGHT)
        return path


def _first(driver: webdriver.Chrome, css: str) -> WebElement | None:
    """The first element matching `css` if it is shown: rendered, not hidden or transparent,
    and of some size, as Selenium's is_displayed() has it. One short script per poll, where
    is_displayed() sends its whole visibility library (tens of kilobytes) every time."""
    return driver.execute_script(
        "const found = document.querySelector(arguments[0]);"
        "if (!found) return null;"
        "const box = found.getBoundingClientRect();"
        "const shown = found.checkVisibility({visibilityProperty: true, opacityProperty: true});"
        "return shown && box.width > 0 && box.height > 0 ? found : null;",
        css,
    )


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile, one for the whole run (it starts in seconds)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}")
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def app(start_app) -> App:  # noqa: F811
    return start_app()


@pytest.fixture
def console(browser: webdriver.Chrome, app: App) -> Console:
    return Console(browser, app)
