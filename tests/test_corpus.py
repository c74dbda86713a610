"""Corpus parsing: numbering, clean text, footnotes, stitched paragraphs, new documents."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot import corpus as C
from bot.documents import Catalog

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "data" / "documents"
SHARED = ROOT.parent / "shared" / "corpus"

FURNITURE = [
    re.compile(r"V\.\d{2}-\d{5}"),           # UN job number footer
    re.compile(r"\d+\s*/\s*16\b"),           # page x/16
    re.compile(r"_{4,}"),                    # rule lines
    re.compile(r"undocs\.org"),              # bare URL lists
    re.compile(r"<sup>|</sup>|\^\[\d+\]|\*\*"),  # markup
    re.compile("\x00"),
]


@pytest.fixture(scope="module")
def corpus() -> C.Corpus:
    return C.load_corpus(DOCS, strict=True)


def body(corpus: C.Corpus, doc_id: str) -> list[C.Passage]:
    return [p for p in corpus.document(doc_id).passages if p.kind == C.BODY]


def test_documents_are_byte_identical_copies() -> None:
    catalog = C.load_catalog(DOCS)
    assert len(catalog) == 5
    for name, entry in catalog.items():
        original = SHARED / entry["source"]
        if original.exists():  # the shared folder is absent on some machines
            assert (DOCS / name).read_bytes() == original.read_bytes(), name


def test_catalog_states_symbols_and_licence(corpus: C.Corpus) -> None:
    catalog = Catalog.from_list(d.meta for d in corpus.documents)
    assert catalog.resolve("A/CONF.234/11") == "a-conf-234-11"
    assert catalog.resolve("a/conf.234/11 ") == "a-conf-234-11"          # case and spaces ignored
    ipie = catalog.resolve("SFP2026.1")
    assert ipie is not None
    assert catalog.meta(ipie)["doi"] == "10.61452/OUGH7531"
    assert "CC BY-NC-SA 4.0" in catalog.meta(ipie)["licence"]
    assert catalog.resolve("001_fde78c90ab8bba8c.txt") == "a-conf-234-11"   # the original file name
    assert catalog.resolve("the IPIE brief") == ipie                       # an alias
    assert catalog.resolve("only in the IPIE brief please") == ipie         # named inside a phrase
    assert catalog.resolve("a report") is None and catalog.resolve("") is None
    assert catalog.named_in("What does A/CONF.234/11 say?") == {"a-conf-234-11"}


@pytest.mark.parametrize("doc_id,last", [("a-conf-234-11", 82), ("ctoc-trafficking-2021", 63), ("congress-ws4-report", 21)])
def test_numbered_documents_yield_each_number_once_in_order(corpus: C.Corpus, doc_id: str, last: int) -> None:
    numbers = [p.number for p in body(corpus, doc_id) if p.number is not None and not p.sub]
    assert numbers == list(range(1, last + 1))


def test_sub_items_are_citable(corpus: C.Corpus) -> None:
    p = corpus.passage("a-conf-234-11:82-e")
    assert p is not None and p.label == "82(e)"
    assert p.text.startswith("会员国应在其法律中列入关于拥有、出版和转让可用于最终制造枪支")
    letters = [p.sub for p in body(corpus, "congress-ws4-report") if p.number == 21 and p.sub]
    assert letters == list("abcdefghijk")
    bullets = [p for p in body(corpus, "ctoc-trafficking-2021") if p.number == 3 and p.sub]
    assert len(bullets) == 13 and bullets[3].label == "3 (item 4)"


def test_unnumbered_documents_get_per_section_ordinals(corpus: C.Corpus) -> None:
    for doc_id in ("ipie-csea-2026", "ai-undress-study"):
        paras = [p for p in body(corpus, doc_id) if not p.parent]
        assert paras and all(p.number is None and p.ordinal for p in paras)
        by_section: dict[int, list[int]] = {}
        for p in paras:
            by_section.setdefault(p.section_index, []).append(p.ordinal)
        for ordinals in by_section.values():
            assert ordinals == list(range(1, len(ordinals) + 1))


def test_section_paths_follow_headings(corpus: C.Corpus) -> None:
    p = corpus.passage("a-conf-234-11:26")
    assert [s["num"] for s in p.section] == ["二", "C", "3"]
    assert p.section[-1]["title"] == "增材制造（3D打印）"
    q = corpus.passage("ctoc-trafficking-2021:32")
    assert [s["num"] for s in q.section] == ["三", "B", "3"]
    r = next(p for p in body(corpus, "ai-undress-study") if "洛卡德交换原理" in p.text)
    assert [s["num"] for s in r.section] == ["三", "二"]
    s = next(p for p in body(corpus, "ipie-csea-2026") if p.text.startswith("综述发现，金融体系是目前干预最少"))
    assert s.section[0]["title"] == "结果 4：追踪并阻断资金链"


def test_chinese_lines_are_joined_without_spaces(corpus: C.Corpus) -> None:
    p = corpus.passage("a-conf-234-11:1")
    assert "药物管制和预防犯罪办事处" in p.text  # "药物管制" / "和预防犯罪" were on two lines
    # the hard-wrapped PDF text has no spaces between Chinese characters except at line ends
    for q in corpus.document("a-conf-234-11").passages:
        assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", q.text), q.id


def test_no_body_paragraph_contains_footnotes_or_furniture(corpus: C.Corpus) -> None:
    footnote_texts = [p.text for p in corpus.passages([C.FOOTNOTE]) if len(p.text) > 40]
    for p in corpus.passages([C.BODY, C.CAPTION]):
        for rx in FURNITURE:
            assert not rx.search(p.text), (p.id, rx.pattern)
        for note in footnote_texts:
            assert note[:40] not in p.text, p.id


def test_footnotes_are_separated_numbered_and_linked(corpus: C.Corpus) -> None:
    notes = [p for p in corpus.document("a-conf-234-11").passages if p.kind == C.FOOTNOTE and p.id[-1].isdigit()]
    assert [int(p.id.split(":fn")[1]) for p in notes] == list(range(1, 94))
    p6 = corpus.passage("a-conf-234-11:6")
    assert p6.footnotes[:2] == ["a-conf-234-11:fn5", "a-conf-234-11:fn6"]
    assert not re.search(r"。\d", p6.text)  # trailing-digit markers removed from the text
    assert corpus.passage("a-conf-234-11:fn5").cited_by == ["a-conf-234-11:6"]
    p69 = corpus.passage("a-conf-234-11:69")  # "专家组、812018 年": marker 81 glued to a year
    assert "专家组、2018 年 5 月" in p69.text and "a-conf-234-11:fn81" in p69.footnotes
    t33 = corpus.passage("ctoc-trafficking-2021:33")  # <sup>42</sup> style
    assert "ctoc-trafficking-2021:fn42" in t33.footnotes
    assert corpus.passage("ctoc-trafficking-2021:fn42").text.startswith("其他国家也有类似的举报机制")
    assert len([p for p in corpus.document("ctoc-trafficking-2021").passages if p.kind == C.FOOTNOTE]) == 75


@pytest.mark.parametrize(
    "pid,whole",
    [
        ("a-conf-234-11:6", "使用相关软件协议建设的支付基础设施"),
        ("ctoc-trafficking-2021:60", "该门户网站包括一个判例法数据库"),
        ("ctoc-trafficking-2021:7", "客户和服务器可能处在世界不同地区"),
        ("ctoc-trafficking-2021:50", "记录受害人的工作时间"),
        ("congress-ws4-report:10", "公私伙伴关系来应对网络犯罪挑战"),
        ("congress-ws4-report:18", "有必要制定相关的道德准则"),
        ("a-conf-234-11:68", "（夏洛克数据库）"),
    ],
)
def test_paragraphs_cut_by_page_breaks_are_stitched(corpus: C.Corpus, pid: str, whole: str) -> None:
    assert whole in corpus.passage(pid).text


def test_unnumbered_stitches(corpus: C.Corpus) -> None:
    texts = [p.text for p in corpus.passages([C.BODY])]
    for whole in ("明确人工智能法的科技法", "Home Security Heroes", "以此评估各学科领域针对", "精准追查制作"):
        assert sum(whole in t for t in texts) == 1, whole
    # no body paragraph is left ending mid-sentence
    assert [p.id for p in corpus.passages([C.BODY]) if C.is_open(p.text)] == []


def test_reference_lists_and_back_matter_are_their_own_kind(corpus: C.Corpus) -> None:
    refs = [p for p in corpus.passages([C.REFERENCE])]
    assert len(refs) == 10
    assert all(p.text.startswith("[") for p in refs)
    kinds = {p.kind for p in corpus.document("ipie-csea-2026").passages}
    assert {C.FRONT, C.BODY, C.REFERENCE, C.CREDITS, C.BACK, C.CAPTION} <= kinds
    assert not any("Seefeldstrasse" in p.text or "起草作者" in p.text for p in corpus.passages([C.BODY]))
    ipie = corpus.passage("ipie-csea-2026:s2-1")
    assert ipie.footnotes == ["ipie-csea-2026:reference1", "ipie-csea-2026:reference2"]


def test_page_is_known_only_where_the_text_states_it(corpus: C.Corpus) -> None:
    assert corpus.passage("a-conf-234-11:65").page == 13
    assert corpus.passage("a-conf-234-11:70").page == 14
    assert corpus.passage("a-conf-234-11:26").page is None


def test_ids_are_unique_and_stable(corpus: C.Corpus) -> None:
    ids = [p.id for p in corpus.passages()]
    assert len(ids) == len(set(ids))
    again = C.load_corpus(DOCS, strict=True)
    assert ids == [p.id for p in again.passages()]


def test_new_markdown_document_is_parsed(tmp_path: Path) -> None:
    (tmp_path / "note.md").write_text(
        "# Policy note on drones\n\n## 1. Background\n\nDrones are used to smuggle contraband into prisons.\n\n"
        "## 2. Response\n\nAuthorities deploy detection systems[^1] near prisons.\n\n[^1]: Example footnote.\n",
        encoding="utf-8",
    )
    corpus = C.load_corpus(tmp_path, strict=True)
    doc = corpus.documents[0]
    assert doc.id == "note" and doc.meta["title"] == "Policy note on drones"
    paras = [p for p in doc.passages if p.kind == C.BODY]
    assert [p.text for p in paras] == [  # the first paragraph under a heading starts with it
        "1. Background\nDrones are used to smuggle contraband into prisons.",
        "2. Response\nAuthorities deploy detection systems near prisons.",
    ]
    assert paras[1].section[-1] == {"num": "2", "title": "Response"}
    assert paras[1].footnotes == ["note:fn1"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("bad.txt", b"\xff\xfe\x00b\x00a\x00d", "binary"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
        ("empty.md", b"   \n\n", "empty"),
    ],
)
def test_unreadable_files_get_a_clear_error_naming_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    shutil.copy(DOCS / "congress-ws4-report.txt", tmp_path / "congress-ws4-report.txt")
    (tmp_path / name).write_bytes(content)
    corpus = C.load_corpus(tmp_path)
    assert [d.id for d in corpus.documents] == ["congress-ws4-report"]
    assert len(corpus.errors) == 1 and name in corpus.errors[0] and message in corpus.errors[0]
    with pytest.raises(C.ParseError, match=re.escape(name)):
        C.load_corpus(tmp_path, strict=True)
