"""The web page in a real browser (headless Debian chromium driven by Playwright), against the
real stack: action server + Rasa (socket.io and REST) + the project's web server.

``make browser`` installs chromium; set CHROMIUM to use another binary. Set SCREENSHOTS_DIR to
save screenshots (``make screenshots`` writes them to docs/screenshots/).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import config, index, web
from tests.stack import MODEL, RASA, Stack, free_port

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM, reason="needs chromium (make browser)"),
    pytest.mark.skipif(not (RASA.exists() and MODEL.exists()), reason="needs .venv-rasa and a trained model"),
]
ROOT = Path(__file__).resolve().parent.parent
TOKEN = uuid.uuid4().hex
ANSWER = ".msg.bot[data-kind=answer]"
XSS = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> what is PhotoDNA?"


@dataclasses.dataclass
class Site:
    base: str
    stack: Stack


@pytest.fixture(scope="module")
def site(idx: index.Index, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    web_port = free_port()
    origins = [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"]
    stack = Stack(tmp_path_factory.mktemp("browser-stack"))
    server = None
    try:
        stack.start_actions()
        stack.start_rasa(cors=origins, api_token=TOKEN)
        stack.send("warm up", sender="warm-up")
        settings = dataclasses.replace(config.settings(), rasa_public_url=f"http://127.0.0.1:{stack.rasa_port}")
        server = web.serve("127.0.0.1", web_port, settings)
        yield Site(f"http://127.0.0.1:{web_port}", stack)
    finally:
        if server:
            server.shutdown()
        stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def ask(page: Any, text: str, timeout: float = 60_000) -> Any:
    """Type a question like a user, send it, and return the new bot message."""
    before = page.locator(".msg.bot").count()
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {before}", timeout=timeout)
    page.wait_for_selector("#typing", state="hidden", timeout=timeout)
    return page.locator(".msg.bot").last


def test_english_and_chinese_questions_get_quoted_cited_answers(site: Site, page: Any) -> None:
    page.goto(site.base + "/")
    page.wait_for_selector("#suggestions button")
    reply = ask(page, "What do the documents say about 3D-printed guns?")
    assert reply.get_attribute("data-kind") == "answer"
    page.wait_for_timeout(500)
    assert page.locator(".msg.bot").count() == 1, "the plain text Rasa also sends is not shown twice"
    assert reply.locator("blockquote.quote").count() >= 1 and reply.locator("blockquote.quote mark").count() >= 1
    assert "A/CONF.234/11" in reply.locator("a.citation").first.inner_text()
    assert "not legal advice" in reply.locator(".disclaimer").inner_text()
    assert reply.locator("button.feedback-up").count() == 1
    # English first, labelled; the Chinese original collapsed under it, opened by keyboard
    quote = reply.locator(".passage blockquote.quote").first
    assert quote.get_attribute("lang") == "en" and "firearms" in quote.inner_text()
    assert "Unofficial translation" in reply.locator(".translation-note").first.inner_text()
    original = reply.locator("details.original").first
    assert not original.locator("blockquote").is_visible()
    original.locator("summary").focus()
    page.keyboard.press("Enter")
    assert original.locator("blockquote").is_visible()
    assert re.search(r"[\u4e00-\u9fff]{10}", original.locator("blockquote").inner_text())
    assert original.locator("blockquote").get_attribute("lang") == "zh"
    assert reply.locator("button.quick-reply", has_text="Show original").count() == 0  # the page shows it in place
    shot(page, "desktop-answer")
    zh = ask(page, "人贩子如何利用社交媒体招募受害人？")
    assert zh.get_attribute("data-kind") == "answer" and "出处" in zh.locator("a.citation").first.inner_text()
    assert zh.locator(".translation-note").count() == 0 and zh.locator("details.original").count() == 0
    assert not page.errors


def test_citation_opens_the_paragraph_viewer_in_context(site: Site, page: Any) -> None:
    page.goto(site.base + "/")
    reply = ask(page, "What do the documents say about 3D-printed guns?")
    link = reply.locator("a.citation").first
    pid = link.get_attribute("data-passage-id")
    link.click()
    viewer = page.locator("dialog#viewer")
    viewer.wait_for(state="visible")
    api = web.Api()
    expected = api.idx.passage(pid).text[:30]
    page.wait_for_function("(t) => { const el = document.querySelector('dialog#viewer .viewer-paragraph.current');"
                           " return el && el.innerText.includes(t); }", arg=expected)
    assert "A/CONF.234/11" in viewer.inner_text()
    assert viewer.locator(".viewer-paragraph.previous").count() == 1
    page.click("#viewer-next")
    page.wait_for_function("(t) => !document.querySelector('dialog#viewer .viewer-paragraph.current').innerText.includes(t)",
                           arg=expected)
    shot(page, "paragraph-viewer")
    page.keyboard.press("Escape")
    viewer.wait_for(state="hidden")


def test_citation_link_from_a_messenger_opens_that_paragraph(site: Site, page: Any) -> None:
    """Telegram/Slack/Teams/Mattermost citations link to /?p=<id> when PUBLIC_WEB_URL is set."""
    pid = "a-conf-234-11:27"
    page.goto(site.base + "/?p=" + pid)
    page.locator("dialog#viewer").wait_for(state="visible")
    expected = web.Api().idx.passage(pid).text[:30]
    page.wait_for_function("(t) => { const el = document.querySelector('dialog#viewer .viewer-paragraph.current');"
                           " return el && el.innerText.includes(t); }", arg=expected)
    page.goto(site.base + "/?p=<img%20src=x%20onerror=alert(1)>")  # not a paragraph id: no viewer, no error
    page.wait_for_selector("#chat-input")
    assert not page.locator("dialog#viewer").is_visible() and not page.errors


def test_feedback_reaches_the_tracker(site: Site, page: Any) -> None:
    page.goto(site.base + "/")
    reply = ask(page, "How are cryptocurrencies used for money laundering?")
    reply.locator("button.feedback-up").click()
    page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {page.locator('.msg.bot').count() - 1}")
    session = page.evaluate("localStorage.getItem('pa.session')")   # the server-issued token <id>.<signature>
    assert "." in session
    page.wait_for_timeout(1500)
    tracker = site.stack.tracker(session.split(".")[0], TOKEN)
    assert tracker["slots"].get("rating") == "up"
    intents = [e.get("parse_data", {}).get("intent", {}).get("name") for e in tracker["events"] if e["event"] == "user"]
    assert "feedback" in intents


def test_reload_keeps_the_conversation_and_reset_starts_a_new_one(site: Site, page: Any) -> None:
    page.goto(site.base + "/")
    ask(page, "What is PhotoDNA?")
    session = page.evaluate("localStorage.getItem('pa.session')")
    count = page.locator("#chat-log .msg").count()
    page.reload()
    page.wait_for_selector(ANSWER)
    assert page.locator("#chat-log .msg").count() == count
    assert page.evaluate("localStorage.getItem('pa.session')") == session
    page.click("#reset-button")
    page.wait_for_selector("#suggestions button")
    assert page.locator("#chat-log .msg").count() == 0
    assert page.evaluate("localStorage.getItem('pa.session')") != session


def test_markup_in_messages_is_shown_as_text(site: Site, page: Any) -> None:
    page.goto(site.base + "/")
    ask(page, XSS)
    user = page.locator(".msg.user").last
    assert "<script>" in user.inner_text() and "onerror" in user.inner_text()
    assert page.locator("#chat-log img").count() == 0 and page.locator("#chat-log script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_keyboard_only(site: Site, page: Any) -> None:
    page.goto(site.base + "/")
    page.wait_for_selector("#suggestions button")

    def tab_to(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#chat-input")
    page.keyboard.type("How do offenders groom children online?")
    page.keyboard.press("Enter")
    page.wait_for_selector(ANSWER, timeout=60_000)
    tab_to("a.citation")
    page.keyboard.press("Enter")
    page.locator("dialog#viewer").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator("dialog#viewer").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.matches('a.citation')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    tab_to("#lang-switch")
    page.keyboard.press("Enter")
    assert page.evaluate("document.documentElement.lang").startswith("zh")


def test_language_switch_and_rest_fallback(site: Site, browser: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.route("**/vendor/socket.io.min.js", lambda route: route.abort())   # no socket.io client: REST
    page.goto(site.base + "/")
    page.wait_for_selector("#suggestions button")
    assert page.evaluate("document.documentElement.lang").startswith("zh")
    reply = ask(page, "什么是暗网市场？")
    assert reply.get_attribute("data-kind") == "answer" and "出处" in reply.inner_text()
    context.close()


def test_phone_width_and_presenter_view(site: Site, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    phone.goto(site.base + "/")
    ask(phone, "How do traffickers use social media to recruit victims?")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(phone, "phone")
    context.close()

    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    page.goto(site.base + "/presenter")
    page.wait_for_selector("#presenter-panel .demo-question")
    assert page.locator("#presenter-panel .demo-group").count() >= 9
    page.locator("#presenter-panel .demo-question").first.click()
    page.wait_for_selector(ANSWER, timeout=60_000)
    refusal = page.locator("#presenter-panel .demo-group").filter(has_text="Refusal").locator(".demo-question").first
    refusal.click()
    page.wait_for_selector(".msg.bot[data-kind=refusal]", timeout=60_000)
    shot(page, "presenter")
    page.click("#reset-all")
    page.wait_for_function("() => document.querySelectorAll('#chat-log .msg').length === 0")
    context.close()


def test_embedded_with_one_script_tag(site: Site, page: Any) -> None:
    page.goto(site.base + "/embed-example.html")
    page.click("#pa-launcher")
    page.wait_for_selector("#pa-panel #chat-input", state="visible")
    reply = ask(page, "What is PhotoDNA?")
    assert reply.get_attribute("data-kind") == "answer"
    shot(page, "embedded")


def test_the_community_widget_rasa_webchat_gets_an_answer_with_its_citation(site: Site, page: Any) -> None:
    if not (ROOT / "node_modules" / "rasa-webchat").exists():
        pytest.skip("rasa-webchat not installed (make setup runs npm ci)")
    page.goto(site.base + "/webchat")
    box = page.locator(".rw-new-message")
    box.wait_for(timeout=30_000)
    box.fill("What do the documents say about 3D-printed guns?")
    box.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('Source: A/CONF.234/11')", timeout=60_000)
    shot(page, "rasa-webchat")
