"""Browser benchmark (``make bench``): time from pressing Enter to the rendered answer in the
web page (headless chromium, socket.io), over 20 dev questions, and the page weight.

Prints percentiles; writes bench/out/browser.json. Figures go to docs/performance.md.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.search_bench import pct  # noqa: E402
from bot import config, evaluate, web  # noqa: E402
from tests.stack import Stack, free_port  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")


def main() -> int:
    if not CHROMIUM:
        print("skipped: no chromium (make browser)")
        return 0
    from playwright.sync_api import sync_playwright

    items = [q for q in evaluate.load_questions(ROOT / "tests" / "eval" / "dev-questions.json") if q.get("gold")]
    questions = [q["question"] for q in items if q["lang"] == "en"][:10] + [q["question"] for q in items if q["lang"] == "zh"][:10]
    web_port = free_port()
    stack = Stack(Path(tempfile.mkdtemp(prefix="browser-bench-")))
    stack.start_actions()
    stack.start_rasa(cors=[f"http://127.0.0.1:{web_port}"])
    stack.send("warm up", sender="warm-up")
    settings = dataclasses.replace(config.settings(), rasa_public_url=f"http://127.0.0.1:{stack.rasa_port}")
    server = web.serve("127.0.0.1", web_port, settings)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            sizes: dict[str, int] = {}

            def record(response: object) -> None:
                try:
                    sizes[response.url] = len(response.body())  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - redirects and aborted loads have no body
                    pass

            page.on("response", record)
            page.goto(f"http://127.0.0.1:{web_port}/")
            page.wait_for_selector("#suggestions button")
            page.wait_for_load_state("networkidle")
            weight = dict(sizes)
            times = []
            for q in questions:
                before = page.locator(".msg.bot").count()
                page.fill("#chat-input", q)
                start = page.evaluate("performance.now()")
                page.press("#chat-input", "Enter")
                page.wait_for_function(f"() => document.querySelectorAll('.msg.bot[data-kind]').length > {before}", timeout=60_000)
                times.append(page.evaluate("performance.now()") - start)
            browser.close()
    finally:
        server.shutdown()
        stack.stop()
    total = sum(weight.values())
    vendor = sum(v for k, v in weight.items() if "/vendor/" in k)
    report = {"questions": len(times), "render_ms": {p: pct(times, p) for p in (50, 95)},
              "page_bytes": total, "vendor_bytes": vendor, "files": weight}
    print(f"Browser: send → rendered answer over {len(times)} questions: p50 {report['render_ms'][50]:.0f} ms, "
          f"p95 {report['render_ms'][95]:.0f} ms")
    print(f"Page weight: {total / 1024:.0f} KiB in {len(weight)} files (socket.io client {vendor / 1024:.0f} KiB of it), "
          f"no images or fonts")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "browser.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
