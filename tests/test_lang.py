"""One language rule: the replies, Rasa's NLU tag, Rasa's own replies and the web page agree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot import lang

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "lang_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("text,expected", CASES)
def test_reply_language(text: str, expected: str) -> None:
    assert lang.reply_lang(text) == expected


def test_a_mixed_message_keeps_the_conversations_language() -> None:
    assert lang.detect("What does 人贩子 mean?") == "mixed"
    assert lang.reply_lang("What does 人贩子 mean?", "zh") == "zh"
    assert lang.reply_lang("What does 人贩子 mean?", "en") == "en"
    assert lang.reply_lang("", "zh") == "zh" and lang.reply_lang("   ") == "en"


@pytest.mark.skipif(not shutil.which("node"), reason="needs node")
def test_the_web_page_mirror_agrees() -> None:
    source = (ROOT / "web" / "widget.js").read_text(encoding="utf-8")
    match = re.search(r"\n  function detectLang\(text\) \{.*?\n  \}\n", source, re.S)
    assert match, "widget.js has no detectLang"
    script = match.group(0) + f"\nconst cases = {json.dumps(CASES, ensure_ascii=False)};\n" + \
        "console.log(JSON.stringify(cases.map(c => detectLang(c[0]))));\n"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == [expected for _, expected in CASES]


def test_rasas_language_tag_follows_the_same_rule() -> None:
    """rasa_addons/language.py tags what reply_lang decides and leaves mixed messages untagged
    (run in Rasa's own environment, Python 3.10)."""
    python = ROOT / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        pytest.skip("needs .venv-rasa")
    code = ("import json, sys; sys.path.insert(0, '.'); from rasa_addons.language import detect; "
            "print(json.dumps([detect(t) for t in json.load(sys.stdin)]))")
    texts = [text for text, _ in CASES] + ["What does 人贩子 mean?", "", "123"]
    out = subprocess.run([str(python), "-c", code], input=json.dumps(texts), capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=True, env={"RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin"})
    tags = json.loads(out.stdout.strip().splitlines()[-1])
    for text, tag in zip(texts, tags):
        expected = lang.detect(text) if text.strip() and re.search(r"[A-Za-z]{2,}|[\u4e00-\u9fff]", text) else None
        assert tag == (expected if expected in ("en", "zh") else None), text
