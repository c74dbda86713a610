"""Language detection: the one rule for every part of the assistant.

The search, the replies, Rasa's NLU (``rasa_addons/language.py``), the replies Rasa sends by
itself (rate limit, action server unavailable) and the web page (a mirror in ``web/widget.js``,
checked against ``tests/lang_cases.json``) all decide the language here. Standard library
only: Rasa's own environment (Python 3.10) imports this module too.
"""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
LATIN = re.compile(r"[A-Za-z]")


def detect(text: str) -> str:
    """``zh``, ``en`` or ``mixed`` from the count of Chinese characters against Latin words.

    Chinese questions often carry Latin names (PhotoDNA, TikTok), so words are counted, not
    letters: a message is Chinese when its Chinese characters are at least twice its Latin
    words, English when the reverse holds, and ``mixed`` in between."""
    cjk = len(CJK.findall(text))
    latin_words = len(LATIN_WORD.findall(text))
    if cjk == 0:
        return "en"
    if latin_words == 0:
        return "zh"
    if cjk >= 2 * latin_words:
        return "zh"
    if latin_words >= 2 * cjk:
        return "en"
    return "mixed"


def reply_lang(text: str | None, previous: str | None = None) -> str:
    """The language to answer in: the message's own; a mixed message keeps the conversation's
    (``previous``), and without one goes by Chinese characters against Latin letters."""
    text = text or ""
    if not text.strip():
        return previous if previous in ("en", "zh") else "en"
    detected = detect(text)
    if detected in ("en", "zh"):
        return detected
    if previous in ("en", "zh"):
        return previous
    cjk = len(CJK.findall(text))
    return "zh" if cjk * 2 >= len(LATIN.findall(text)) else "en"


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))
