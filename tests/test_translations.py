"""The English reading of the corpus (data/documents/en/): complete, one entry per body
paragraph and footnote, and faithful to the original's numbers."""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot import corpus

EN_DIR = Path(__file__).resolve().parent.parent / "data" / "documents" / "en"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that refuses a key given twice (PyYAML keeps the last one silently)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    keys = [loader.construct_object(k) for k, _ in node.value]
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, f"duplicated entries: {sorted(dup)}"
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@pytest.fixture(scope="module")
def passages() -> list[corpus.Passage]:
    return [p for p in corpus.load_corpus().passages() if p.kind in (corpus.BODY, corpus.FOOTNOTE)]


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted(EN_DIR.glob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
        assert all(k.startswith(path.stem + ":") for k in data), f"{path.name} holds another document's ids"
        out.update(data)
    return out


def test_every_body_paragraph_and_footnote_has_english(passages: list[corpus.Passage],
                                                       english: dict[str, str]) -> None:
    ids = {p.id for p in passages}
    assert ids - english.keys() == set(), "paragraphs without a translation"
    assert english.keys() - ids == set(), "translations of paragraphs that do not exist"
    assert all(isinstance(v, str) and v.strip() for v in english.values()), "empty translations"
    assert not any(re.search(r"[\u4e00-\u9fff]{4,}", v) for v in english.values()), "untranslated Chinese left"


def test_different_paragraphs_have_different_translations(passages: list[corpus.Passage],
                                                          english: dict[str, str]) -> None:
    """Footnotes that repeat a reference with a punctuation mark changed may share a translation;
    paragraphs that differ in substance may not."""
    def same(text: str) -> str:  # full-width vs. ASCII punctuation and spacing do not count
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    seen: dict[str, str] = {}
    for p in passages:
        other = seen.setdefault(english[p.id], same(p.text))
        assert difflib.SequenceMatcher(None, other, same(p.text)).ratio() > 0.95, \
            f"{p.id} has the translation of another paragraph"


def test_every_number_of_the_original_is_in_the_translation(passages: list[corpus.Passage],
                                                             english: dict[str, str]) -> None:
    missing = []
    for p in passages:
        en = english[p.id]
        bare = en.replace(",", "")
        for m in NUMBER.finditer(p.text):
            n = m.group()
            if n in en or n.replace(",", "") in bare:
                continue
            after = p.text[m.end():m.end() + 2].strip()
            if after.startswith("月") and n.isdigit() and 1 <= int(n) <= 12 and MONTHS[int(n) - 1] in en:
                continue  # "2018 年 5 月" → "May 2018"
            missing.append((p.id, n))
    assert not missing, missing[:20]
