"""User-facing texts the Rasa server sends by itself, from data/replies.yml (EN and ZH)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Text

import yaml

_REPLIES = Path(__file__).resolve().parent.parent / "data" / "replies.yml"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(_REPLIES.read_text(encoding="utf-8"))


def text(key: Text, lang: Optional[Text], **values: Any) -> Text:
    """The reply ``key`` in ``lang`` ("zh", else English), placeholders filled in."""
    return str(_data()["zh" if lang == "zh" else "en"][key]).format(**values)


def guess_lang(message: Optional[Text]) -> Text:
    """"zh" when the message has Chinese characters, else "en"."""
    return "zh" if message and _CJK.search(message) else "en"
