"""A real Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium) for the
console's browser tests. Every page a test opens is saved as a PNG (SCREENSHOTS, or
var/screenshots) and checked for a label on every input.

selenium is synchronous; the servers run on the test's event loop, so each browser step
runs in a thread (`await browser.open(...)`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)


def chromium_or_skip() -> tuple[str, str]:
    """The browser and its driver; without them the browser tests are skipped, except in
    CI, where they must run (.ci/run installs them)."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        message = "apt-get install -y chromium chromium-driver to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return browser, driver


PAGE_LOAD_SECONDS = 30


@contextmanager
def chromium(*, javascript: bool) -> Iterator[WebDriver]:
    binary, driver_path = chromium_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--window-size=1280,1000"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    # A page that never finishes loading fails the step in seconds, not at the test's
    # 300 s timeout (chromedriver waits for a pending navigation before every command).
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """One browser window; its steps are awaited (they run in a thread)."""

    def __init__(self, driver: WebDriver) -> None:
        self.driver = driver
        self.shots: list[Path] = []

    # --- steps -------------------------------------------------------------------------

    async def open(self, url: str, shot: str) -> str:
        """Opens `url`; saves the page as `shot`.png; returns the page's text."""
        return await asyncio.to_thread(self._open, url, shot)

    async def fill(self, fields: dict[str, str]) -> None:
        await asyncio.to_thread(self._fill, fields)

    async def click(self, button_text: str, shot: str) -> str:
        """Clicks the button showing `button_text` (a form submits, as a person would);
        saves the page it leads to."""
        return await asyncio.to_thread(self._click, button_text, shot)

    async def choose(self, element_id: str) -> None:
        """Ticks a radio button or checkbox."""
        await asyncio.to_thread(lambda: self.driver.find_element(By.ID, element_id).click())

    async def value(self, element_id: str) -> str:
        return await asyncio.to_thread(
            lambda: str(self.driver.find_element(By.ID, element_id).get_attribute("value"))
        )

    @classmethod
    async def signed_out(cls, driver: WebDriver) -> Browser:
        """A window on `driver` with no cookies left from an earlier test. In a thread like
        every step: chromedriver waits for a page still loading from the test's servers,
        which only answer while the event loop runs (called on the loop, it deadlocks)."""
        await asyncio.to_thread(driver.delete_all_cookies)
        return cls(driver)

    async def run_script(self, script: str) -> None:
        await asyncio.to_thread(self.driver.execute_script, script)

    async def sign_in(self, base: str, email: str, password: str, shot: str) -> str:
        await self.open(f"{base}/login", "login")
        await self.fill({"email": email, "password": password})
        return await self.click("Sign in", shot)

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    # --- in the thread -----------------------------------------------------------------

    def _open(self, url: str, shot: str) -> str:
        self.driver.get(url)
        return self._settled(shot)

    def _fill(self, fields: dict[str, str]) -> None:
        for element_id, text in fields.items():
            element = self.driver.find_element(By.ID, element_id)
            element.clear()
            element.send_keys(text)

    def _click(self, button_text: str, shot: str) -> str:
        buttons = [
            b
            for b in self.driver.find_elements(By.TAG_NAME, "button")
            if b.text.strip() == button_text
        ]
        assert buttons, f"no button {button_text!r} on {self.driver.current_url}"
        page = self.driver.find_element(By.TAG_NAME, "html")
        buttons[0].click()
        # Every button the tests click submits a form: the next page replaces this one.
        # Waiting for that before the screenshot keeps the DevTools capture off a page
        # still in flight (seen hanging there on a busy machine). While the documents
        # change over, Chromium may answer the old page's element with other errors than
        # "stale" ("Node ... does not belong to the document"): asked again.
        replaced = WebDriverWait(
            self.driver, PAGE_LOAD_SECONDS, ignored_exceptions=(WebDriverException,)
        )
        with contextlib.suppress(TimeoutException):
            replaced.until(staleness_of(page))
        return self._settled(shot)

    def _settled(self, shot: str) -> str:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{shot}.png"
        path.write_bytes(self._full_page_png())
        self.shots.append(path)
        self._check_labels()
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def _full_page_png(self) -> bytes:
        """The whole page, not only the window (through the DevTools protocol, which works
        with JavaScript off). Chromium refuses the capture now and then while a page is
        still settling: then once more, then the window alone."""
        for _ in range(2):
            try:
                metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
                size = metrics["cssContentSize"]
                clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
                shot = self.driver.execute_cdp_cmd(
                    "Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
                )
                return base64.b64decode(shot["data"])
            except WebDriverException:
                continue
        png: bytes = self.driver.get_screenshot_as_png()
        return png

    def _check_labels(self) -> None:
        """Every visible input, select and textarea has a <label for> or an aria-label."""
        for element in self.driver.find_elements(By.CSS_SELECTOR, "input, select, textarea"):
            if element.get_attribute("type") == "hidden":
                continue
            element_id = element.get_attribute("id")
            labelled = bool(element.get_attribute("aria-label")) or bool(
                element_id
                and self.driver.find_elements(By.CSS_SELECTOR, f'label[for="{element_id}"]')
            )
            assert labelled, (
                f"an input without a label on {self.driver.current_url}: "
                f"{element.get_attribute('outerHTML')}"
            )
