"""Chinese in any script: traditional characters and Cantonese reach the documents' wording."""

from __future__ import annotations

import pytest

from bot import script


@pytest.mark.parametrize("typed,expected", [
    ("3D列印的槍會不會讓警方的彈道資料庫失靈？", "3D打印的枪会不会让警方的弹道数据库失灵？"),   # Taiwan vocabulary
    ("人工智慧能不能幫忙", "人工智能能不能帮忙"),
    ("網上詐騙集團點樣搵受害人？", "网上诈骗集团怎样找受害人？"),                    # Cantonese
    ("啲人販子係咪真係會用直播搵客？", "些人贩子是不是真是会用直播找客？"),
    ("嗰份京都報告入面，有冇人提過", "那份京都报告里面，有没有人提过"),
    ("佢哋喺邊度", "他们在哪里"),
])
def test_traditional_and_cantonese_become_simplified_mandarin(typed: str, expected: str) -> None:
    assert script.normalise(typed) == expected


def test_ordinary_text_is_left_alone() -> None:
    for text in ("加密货币怎么被用来洗钱？", "系统关系体系的问题", "What is PhotoDNA?", "同一个问题"):
        assert script.normalise(text) == text
    assert not script.is_traditional("加密货币怎么被用来洗钱？")
    assert script.is_traditional("加密貨幣怎麼被用來洗錢？")


def test_replies_can_be_written_in_traditional_characters() -> None:
    assert script.to_traditional("文件中的相关内容如下：") == "文件中的相關內容如下："
