"""Chinese in any script: traditional characters and Cantonese, as the documents write it.

The documents are in simplified Chinese; users also write traditional characters (Taiwan,
Hong Kong) and Cantonese-flavoured sentences ("啲人販子係咪真係會用直播搵客？"). Before a
question is searched, classified or judged by the guard, ``normalise`` converts it to
simplified characters with Mainland vocabulary (zhconv's MediaWiki conversion tables: 列印 →
打印, 資料庫 → 数据库, 人工智慧 → 人工智能, 「」 → “”), then replaces common Cantonese
function words with their Mandarin equivalents (a short table, ``CANTONESE``, tested in
tests/test_script.py). Replies to a traditional-script question are written in traditional
characters (``to_traditional``); quotes stay as the documents print them.

Measured choice (docs/retrieval.md): zhconv's ``zh-cn`` against OpenCC's ``tw2sp`` on the
everyday set's traditional and Cantonese questions. Standard library plus zhconv (pure
Python), so Rasa's environment uses it too.
"""

from __future__ import annotations

import re
from functools import lru_cache

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")

# Cantonese written forms → Mandarin, applied to simplified text, longest first. Only applied to
# a message with at least one character Mandarin does not use (``CANTONESE_MARKS``), so an
# ordinary sentence is never touched ("系统", "咁" in names, "同" as "and" are left alone).
CANTONESE: tuple[tuple[str, str], ...] = (
    ("系咪", "是不是"), ("唔系", "不是"), ("系唔系", "是不是"), ("有冇", "有没有"), ("冇", "没有"),
    ("点样", "怎样"), ("点解", "为什么"), ("点先", "怎样才"), ("乜嘢", "什么"), ("乜野", "什么"), ("咩", "什么"),
    ("边度", "哪里"), ("边个", "谁"), ("边啲", "哪些"), ("佢哋", "他们"), ("佢地", "他们"), ("佢", "他"),
    ("𠮶啲", "那些"), ("𠮶个", "那个"), ("𠮶", "那"), ("嗰", "那"), ("呢啲", "这些"), ("呢个", "这个"),
    ("嘅", "的"), ("啲", "些"), ("喺", "在"), ("嚟", "来"), ("唔该", "请"), ("唔", "不"), ("咗", "了"),
    ("揾", "找"), ("搵", "找"), ("睇", "看"), ("畀", "给"), ("而家", "现在"), ("入面", "里面"), ("嘢", "东西"),
    ("倾偈", "聊天"), ("细路", "小孩"), ("老翻", "盗版"), ("真系", "真是"), ("琴日", "昨天"), ("听日", "明天"),
)
# 係 ("is", 系 once simplified), except in the words where 系 means system or relation
_IS = re.compile(r"(?<![关体联派星世谱直])系(?![统列数])")
CANTONESE_MARKS = re.compile("[冇佢𠮶嗰嘅啲喺嚟唔咗揾搵睇畀咩乜嘢]|系咪|点样|点解|边度|边个")
_CANTONESE_ORDER = tuple(sorted(CANTONESE, key=lambda kv: -len(kv[0])))


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Traditional → simplified characters with Mainland vocabulary (unchanged without Han)."""
    if not _HAN.search(text):
        return text
    import zhconv

    return str(zhconv.convert(text, "zh-cn"))


def from_cantonese(text: str) -> str:
    """Cantonese function words → Mandarin, for a (simplified) message that uses them."""
    if not CANTONESE_MARKS.search(text):
        return text
    for spelled, mandarin in _CANTONESE_ORDER:
        text = text.replace(spelled, mandarin)
    return _IS.sub("是", text)


def normalise(text: str) -> str:
    """A message in the documents' script: simplified characters, Mandarin function words."""
    return from_cantonese(to_simplified(text))


def is_traditional(text: str) -> bool:
    """Whether a message is written in traditional characters (converting it to simplified
    changes characters, and it has more than a stray one)."""
    if not _HAN.search(text):
        return False
    simplified = to_simplified(text)
    changed = sum(1 for a, b in zip(text, simplified) if a != b and _HAN.match(a))
    return changed >= 2 or (changed == 1 and len(_HAN.findall(text)) <= 6)


def to_traditional(text: str) -> str:
    """Simplified → traditional characters (the assistant's own sentences for a reader who
    writes traditional)."""
    if not _HAN.search(text):
        return text
    import zhconv

    return str(zhconv.convert(text, "zh-hant"))
