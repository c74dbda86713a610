"""The insights page and the presenter's room view in a real browser (headless Chromium driven by
Playwright, as tests/test_browser.py), at desktop and phone width, in both interface languages.

Only the project's web server runs (no Rasa, no model): the tracker store is written here with
Rasa's schema (tests/test_insights.py). Set SCREENSHOTS_DIR to keep screenshots.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import config, web
from tests.test_insights import NOW, SECRET_QUESTION, Store, room_set

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM, reason="needs chromium (make browser)")]
TOKEN = "browser-insights-token"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = Store(tmp_path_factory.mktemp("insights-browser") / "tracker.db")
    room_set(store, NOW - 3600)
    settings = dataclasses.replace(config.settings(), insights_db=store.close(), insights_token=TOKEN,
                                   rasa_public_url="http://127.0.0.1:9")   # no Rasa: the chat is not used here
    server = web.serve("127.0.0.1", 0, settings)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        assert SECRET_QUESTION not in server.output()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def new_page(browser: Any, viewport: dict[str, int], locale: str = "en-US") -> Any:
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"))


def sign_in(page: Any, base: str, token: str = TOKEN) -> None:
    page.goto(base + "/insights")
    page.fill("#ins-token", token)
    page.click("#ins-show")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_insights_page_draws_the_report(base: str, browser: Any, viewport: dict[str, int]) -> None:
    page = new_page(browser, viewport)
    try:
        page.goto(base + "/insights")
        page.wait_for_selector("#ins-status[data-state=error]")
        assert "access token" in page.inner_text("#ins-status")
        sign_in(page, base)
        page.wait_for_selector("#ins-outcomes svg")
        assert page.inner_text("#ins-totals [data-key=conversations] .ins-total-value") == "3"
        assert page.inner_text("#ins-totals [data-key=messages] .ins-total-value") == "11"
        assert page.locator("#ins-outcomes svg rect").count() == 5
        assert page.locator("#ins-days svg rect[data-lang=en]").count() == 1    # one day, stacked by language
        assert page.locator("#ins-days svg rect[data-lang=zh]").count() == 1
        assert "Chinese" in page.inner_text("#ins-languages")
        assert "A/CONF.234/11" in page.inner_text("#ins-docs")
        declined = page.inner_text("#ins-declined")
        assert SECRET_QUESTION in declined and "2" in declined
        rated = page.locator("#ins-rated a.ins-cite")
        assert rated.count() == 2 and rated.first.get_attribute("href").startswith("/?p=")
        # every chart is inside the page width and has a name
        assert no_horizontal_scroll(page)
        for svg in page.locator("svg.ins-chart").all():
            box = svg.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1
            assert svg.get_attribute("aria-label")
        shot(page, f"insights-{'phone' if viewport is PHONE else 'desktop'}")
        # 中文: the same report, the interface in Chinese
        page.click("#ins-lang")
        assert page.inner_text("#ins-outcomes h2") == "回答结果"
        assert "文件中没有" in page.locator("#ins-outcomes svg").inner_html()
        assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
        assert no_horizontal_scroll(page)
        shot(page, f"insights-zh-{'phone' if viewport is PHONE else 'desktop'}")
        # the token stays in this tab only
        assert page.evaluate("() => sessionStorage.getItem('pa-insights.token')") == TOKEN
        assert page.evaluate("() => localStorage.getItem('pa-insights.token')") is None
        assert page.errors == []
    finally:
        page.context.close()


def test_wrong_token_is_refused(base: str, browser: Any) -> None:
    page = new_page(browser, DESKTOP)
    try:
        sign_in(page, base, "not-the-token")
        page.wait_for_function("() => /not accepted/.test(document.querySelector('#ins-status').textContent)")
        assert page.locator("#ins-report svg").count() == 0
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_presenter_room_view(base: str, browser: Any, viewport: dict[str, int]) -> None:
    page = new_page(browser, viewport)
    page.context.add_init_script(f"if (!localStorage.getItem('pa-room.since')) "
                                 f"localStorage.setItem('pa-room.since', '{NOW - 3600 - 5}')")
    try:
        page.goto(base + "/presenter")
        page.wait_for_selector("#room-questions li.pa-room-item")
        assert page.inner_text("#room-url").startswith("http")
        items = page.locator("#room-questions li.pa-room-item")
        assert items.count() == 9   # eleven messages, two of them 👍/👎: counted, not listed
        listed = page.inner_text("#room-questions")
        assert SECRET_QUESTION not in listed and "Question 9" in listed   # no texts without the token
        assert "refused 1" in page.inner_text("#room-counts") and "👍 1" in page.inner_text("#room-counts")
        page.fill("#room-token", TOKEN)
        page.click("#room-token-button")
        page.wait_for_function(f"() => document.querySelector('#room-questions').textContent.includes({SECRET_QUESTION!r})")
        page.evaluate("() => { document.getElementById('presenter-panel').scrollTop = 0; window.scrollTo(0, 0); }")
        shot(page, f"presenter-room-{'phone' if viewport is PHONE else 'desktop'}")
        page.click("#lang-switch")
        page.wait_for_function("() => document.querySelector('#room-counts').textContent.includes('已拒绝 1')")
        page.click("#reset-all")
        page.wait_for_selector("#room-questions li.pa-room-empty")
        assert page.locator("#room-questions li.pa-room-item").count() == 0
        assert page.errors == []
    finally:
        page.context.close()


def test_presenter_qr_code_of_the_chat_address(base: str, browser: Any) -> None:
    pytest.importorskip("segno", reason="the QR code library (segno) is not installed: make setup")
    page = new_page(browser, DESKTOP)
    try:
        page.goto(base + "/presenter")
        page.wait_for_function("() => { const i = document.querySelector('#room-qr'); "
                               "return i && i.complete && i.naturalWidth > 0; }")
        assert "QR code" in page.get_attribute("#room-qr", "alt")
        assert page.is_visible("#room-warning")   # this test server listens on 127.0.0.1 only
        page.click(".pa-room-change summary")
        page.fill("#room-url-input", "http://192.168.1.20:8080/")
        page.press("#room-url-input", "Enter")
        page.wait_for_function("() => document.querySelector('#room-url').textContent === 'http://192.168.1.20:8080/'")
        page.wait_for_function("() => { const i = document.querySelector('#room-qr'); "
                               "return i.complete && i.naturalWidth > 0 && i.src.includes('192.168.1.20'); }")
        assert not page.is_visible("#room-warning")
        assert page.errors == []
    finally:
        page.context.close()
