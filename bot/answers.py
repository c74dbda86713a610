"""Answers stage: turn search results into the reply a user reads and the machine-readable payload.

Every function returns the same payload shape, which the Rasa action sends as its
``custom`` message and ``python -m bot ask`` prints::

    {"kind": "answer"|"no_answer"|"refusal"|"support"|"info", "lang", "text",
     "citations": [{"id", "doc_id", "doc_title", "doc_symbol", "section", "paragraph", "citation"}],
     "passages": [{"id", "text", "text_en", "shown", "translation", "excerpt", "highlights", ...}],
     "disclaimer", "buttons", ...}

English readers see a passage's unofficial English translation first (``shown`` is
``"translation"``, ``translation`` is ``"unofficial"``) and the original on request
(``/show_original``); a document without a translation is quoted in the original
(``translation`` ``"unavailable"``). Chinese readers see the original, as before.

``text`` is the rendered reply (Markdown-light: ``>`` quotes and ``**`` around the best
sentence). Strings come from ``data/replies.yml`` and ``data/disclaimer.yml``; quoted text
always comes verbatim from the corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from bot import cite, config, corpus as corpus_mod, index as index_mod, language, render, search, translations

PAGE_SIZE = 2          # passages per reply
MAX_RESULTS = 10       # passages a question can page through
EXCERPT_CHARS = {"zh": 260, "en": 520}   # about the same content: English takes ~2 characters per Chinese one


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    root = config.settings().root / "data"
    replies = yaml.safe_load((root / "replies.yml").read_text(encoding="utf-8"))
    disclaimer = yaml.safe_load((root / "disclaimer.yml").read_text(encoding="utf-8"))
    path = root / "suggestions.yml"
    suggestions = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {"topics": []}
    return {"replies": replies, "disclaimer": disclaimer, "suggestions": suggestions.get("topics") or []}


def t(lang: str, key: str, **kw: Any) -> str:
    """A reply string in ``lang`` (``en``/``zh``) with placeholders filled."""
    table = _data()["replies"]["zh" if lang == "zh" else "en"]
    value: Any = table
    for part in key.split("."):
        value = value[part]
    return str(value).format(**kw)


def reply_lang(text: str, previous: str | None = None) -> str:
    """Language to answer in: the message's language; a mixed message keeps the conversation's."""
    detected = language.detect_lang(text) if text and text.strip() else ""
    if detected in ("en", "zh"):
        return detected
    if previous in ("en", "zh"):
        return previous
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text or ""))
    return "zh" if cjk * 2 >= len(re.findall(r"[A-Za-z]", text or "")) else "en"


def disclaimer(lang: str, idx: index_mod.Index | None = None) -> str:
    """The disclaimer with the indexed documents' dates."""
    idx = idx or search.get_index()
    dates = sorted(str(m.get("date")) for m in idx.documents.values() if m.get("date"))
    undated = sum(1 for m in idx.documents.values() if not m.get("date"))
    if lang == "zh":
        parts = [f"{cite.format_date(dates[0], 'zh')}至{cite.format_date(dates[-1], 'zh')}"] if dates else []
        if undated:
            parts.append(f"{undated}份文件未注明日期")
        text = "；".join(parts)
    else:
        parts = [f"{cite.format_date(dates[0], 'en')} to {cite.format_date(dates[-1], 'en')}"] if dates else []
        if undated:
            parts.append(f"{undated} undated")
        text = "; ".join(parts)
    return str(_data()["disclaimer"]["zh" if lang == "zh" else "en"]).format(dates=text)


# --------------------------------------------------------------------------------------
# building blocks


@lru_cache(maxsize=1)
def headings_en() -> dict[str, dict[str, str]]:
    """English section headings (``data/documents/headings_en.yml``); none if it is unreadable."""
    try:
        return translations.headings(config.settings().documents_dir)
    except translations.TranslationError:
        return {}


def citation(p: corpus_mod.Passage, idx: index_mod.Index, lang: str) -> str:
    """Citation line text; English citations use English section headings where known."""
    meta = idx.documents.get(p.doc_id, {"id": p.doc_id})
    if lang == "zh":
        return cite.citation(p, meta, "zh")
    names = headings_en().get(p.doc_id, {})
    section = [dict(s, title=names.get(s["title"], s["title"])) for s in p.section]
    return cite.citation(corpus_mod.Passage.from_dict({**p.to_dict(), "section": section}), meta, "en")


def excerpt(text: str, spans: list[dict[str, Any]], limit: int) -> tuple[str, list[tuple[int, int]], bool]:
    """A window of ``text`` around the highlighted sentence(s); returns (excerpt, spans in it, cut)."""
    if len(text) <= limit or not spans:
        start, end = 0, len(text) if len(text) <= limit else limit
    else:
        hs, he = min(s["start"] for s in spans), max(s["end"] for s in spans)
        if he - hs >= limit:
            start, end = hs, he
        else:
            sentences = language.sentences(text)
            start, end = hs, he
            before = [s for s in sentences if s[1] <= hs]
            after = [s for s in sentences if s[0] >= he]
            while before or after:
                grew = False
                if after and after[0][1] - start <= limit:
                    end = after.pop(0)[1]
                    grew = True
                if before and end - before[-1][0] <= limit:
                    start = before.pop()[0]
                    grew = True
                if not grew:
                    break
    cut = start > 0 or end < len(text)
    inner = [(max(s["start"], start) - start, min(s["end"], end) - start) for s in spans
             if s["end"] > start and s["start"] < end]
    return text[start:end], inner, cut


def _mark(text: str, spans: list[tuple[int, int]]) -> str:
    out = text
    for a, b in sorted(spans, reverse=True):
        sentence = out[a:b].strip()
        if sentence:
            lead = len(out[a:b]) - len(out[a:b].lstrip())
            a += lead
            out = out[:a] + "**" + out[a:a + len(sentence)] + "**" + out[a + len(sentence):]
    return out


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def reading(p: corpus_mod.Passage, lang: str, original: bool = False) -> tuple[str, str]:
    """Which text of a passage a reader in ``lang`` sees first, and why: ``(shown, translation)``.

    ``shown`` is ``"translation"`` (the unofficial English text) or ``"original"``;
    ``translation`` is ``"unofficial"`` when the English text is shown, ``"unavailable"`` when an
    English reader gets a non-English original because its document has no translation, and
    ``""`` otherwise (Chinese readers, English originals, or the original asked for).
    """
    if lang == "zh" or original:
        return "original", ""
    if p.text_en:
        return "translation", "unofficial"
    return "original", ("unavailable" if language.has_cjk(p.text) else "")


def passage_entry(result: dict[str, Any], p: corpus_mod.Passage, idx: index_mod.Index, lang: str,
                  full: bool = False, original: bool = False) -> dict[str, Any]:
    """One passage of the payload: original ``text``, ``text_en``, the excerpt shown (English
    first for English readers where a translation exists), highlights, citation."""
    shown, translation = reading(p, lang, original)
    text = p.text_en if shown == "translation" else p.text
    spans = (result.get("highlights_en") if shown == "translation" else result.get("highlights")) or []
    limit = len(text) if full else EXCERPT_CHARS["zh" if language.has_cjk(text) else "en"]
    excerpt_text, inner, cut = excerpt(text, spans, limit)
    notes = [dict(n, shown=n["text_en"] if shown == "translation" and n.get("text_en") else n["text"])
             for n in result.get("footnotes", [])]
    return {
        "id": p.id, "doc_id": p.doc_id, "text": p.text, "text_en": p.text_en,
        "shown": shown, "translation": translation,
        "translation_note": t(lang, "translation_label") if translation == "unofficial"
        else (t(lang, "translation_unavailable") if translation == "unavailable" else ""),
        "excerpt": excerpt_text, "truncated": cut,
        "highlights": result.get("highlights") or [], "highlights_en": result.get("highlights_en") or [],
        "excerpt_highlights": [list(s) for s in inner],
        "citation": citation(p, idx, lang), "section": result.get("section", ""),
        "paragraph": p.label, "footnotes": notes, "kind": p.kind,
        "score": result.get("score"),
    }


def citation_entry(result: dict[str, Any], p: corpus_mod.Passage, idx: index_mod.Index, lang: str) -> dict[str, Any]:
    meta = idx.documents.get(p.doc_id, {})
    return {
        "id": p.id, "doc_id": p.doc_id, "doc_title": meta.get("title", ""), "doc_title_en": meta.get("title_en", ""),
        "doc_symbol": meta.get("symbol", ""), "section": result.get("section", ""), "paragraph": p.label,
        "citation": citation(p, idx, lang), "url": document_url(meta),
    }


def document_url(meta: dict[str, Any]) -> str:
    """Where the original can be checked: the UN Official Document System for a UN symbol
    (Chinese version), doi.org for a DOI; empty when the document states neither."""
    symbol, doi = str(meta.get("symbol") or ""), str(meta.get("doi") or "")
    if re.fullmatch(r"[A-Z]+(?:/[A-Za-z0-9.()-]+)+", symbol):
        return f"https://undocs.org/zh/{symbol}"
    if doi.startswith("10."):
        return f"https://doi.org/{doi}"
    return ""


def _render_passages(entries: list[dict[str, Any]], lang: str) -> str:
    blocks = []
    for e in entries:
        body = _mark(e["excerpt"], [tuple(s) for s in e["excerpt_highlights"]])
        whole = render.shown_text(e)
        if e["truncated"]:
            if e["excerpt"] != whole[: len(e["excerpt"])]:
                body = "…" + body
            if not whole.endswith(e["excerpt"]):
                body = body + "…"
        note = f"({e['translation_note']})\n" if e.get("translation_note") else ""
        blocks.append(_quote(body) + "\n" + note + t(lang, "source", citation=e["citation"]))
    return "\n\n".join(blocks)


def _buttons(lang: str, more: bool, full: bool, original: bool = False) -> list[dict[str, str]]:
    out = []
    if more:
        out.append({"title": t(lang, "buttons.more"), "payload": "/more_results"})
    if full:
        out.append({"title": t(lang, "buttons.full"), "payload": "/show_source"})
    if original:
        out.append({"title": t(lang, "buttons.original"), "payload": "/show_original"})
    out.append({"title": t(lang, "buttons.up"), "payload": '/feedback{"rating": "up"}'})
    out.append({"title": t(lang, "buttons.down"), "payload": '/feedback{"rating": "down"}'})
    return out


def payload(kind: str, lang: str, text: str, **extra: Any) -> dict[str, Any]:
    """The common payload shape."""
    base: dict[str, Any] = {"kind": kind, "lang": lang, "text": text, "citations": [], "passages": [],
                            "disclaimer": "", "buttons": []}
    base.update(extra)
    return base


# --------------------------------------------------------------------------------------
# replies


@dataclass
class Context:
    """What the conversation remembers between turns (Rasa slots hold it)."""

    lang: str | None = None
    last_query: str | None = None
    offset: int = 0
    doc: str | None = None
    shown: list[str] = field(default_factory=list)


def answer(question: str, lang: str | None = None, doc: str | None = None, offset: int = 0,
           page_size: int = PAGE_SIZE, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """Answer a question from the documents (or say honestly that they do not cover it)."""
    idx = idx or search.get_index()
    lang = lang or reply_lang(question)
    resp = search.search(question, top_k=MAX_RESULTS, doc=doc, idx=idx)
    results = _dedupe(resp["results"], idx)
    common = {"query": resp["query"], "confidence": resp["confidence"], "doc_filter": doc or "",
              "offset": offset, "topics": resp.get("topics", []), "notice": resp.get("notice", "")}
    if resp["status"] != "ok" or not results:
        return no_answer(lang, idx=idx, **common)
    page = results[offset: offset + page_size]
    if not page:
        return payload("info", lang, t(lang, "lead_no_more"), **common, next_offset=None, total=len(results))
    passages, citations = [], []
    for r in page:
        p = idx.passage(r["id"])
        if p is None:
            continue
        passages.append(passage_entry(r, p, idx, lang))
        citations.append(citation_entry(r, p, idx, lang))
    if offset:
        lead = t(lang, "lead_more", first=offset + 1, last=offset + len(page), total=len(results))
    elif doc:
        meta = idx.documents.get(_resolve_doc(doc, idx) or "", {})
        lead = t(lang, "lead_filtered", document=_doc_name(meta, lang)) if meta else t(lang, "lead")
    else:
        lead = t(lang, "lead")
    notice = f"\n({resp['notice']})" if resp.get("notice") else ""
    disc = disclaimer(lang, idx)
    text = f"{lead}{notice}\n\n{_render_passages(passages, lang)}\n\n{disc}"
    has_more = offset + page_size < len(results)
    return payload("answer", lang, text, lead=lead + notice, citations=citations, passages=passages, disclaimer=disc,
                   buttons=_buttons(lang, has_more, any(e["truncated"] for e in passages),
                                    any(e["shown"] == "translation" for e in passages)),
                   next_offset=offset + page_size if has_more else None, total=len(results), **common)


def _dedupe(results: list[dict[str, Any]], idx: index_mod.Index) -> list[dict[str, Any]]:
    """Drop a paragraph when its sub-item ranks higher, and a sub-item when its paragraph does."""
    kept: list[dict[str, Any]] = []
    family: set[str] = set()
    for r in results:
        p = idx.passage(r["id"])
        if p is None or r["id"] in family:
            continue
        kept.append(r)
        family.add(p.id)
        family.update(p.children)
        if p.parent:
            family.add(p.parent)
    return kept


def no_answer(lang: str, idx: index_mod.Index | None = None, **extra: Any) -> dict[str, Any]:
    """Honest "not in the documents", with the topics they do cover and example questions."""
    topics = _data()["suggestions"]
    labels = [tp.get("label_zh" if lang == "zh" else "label_en", tp.get("id", "")) for tp in topics]
    if not labels:  # no suggestions file: the glossary's topic labels
        labels = list(language.load_glossary().topics.values())[:8]
    examples = [tp[lang][0] for tp in topics[:3] if tp.get(lang)]
    sep = "、" if lang == "zh" else ", "
    text = t(lang, "no_answer", topics=sep.join(labels) if labels else "—")
    if examples:
        text += "\n" + t(lang, "no_answer_try") + "\n" + "\n".join(f"• {e}" for e in examples)
    buttons = [{"title": e, "payload": e} for e in examples]
    return payload("no_answer", lang, text, suggestions=examples, buttons=buttons, **extra)


def more(ctx: Context, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """The next page of the last question's results."""
    lang = ctx.lang or "en"
    if not ctx.last_query:
        return payload("info", lang, t(lang, "no_previous"))
    return answer(ctx.last_query, lang=lang, doc=ctx.doc, offset=ctx.offset, idx=idx)


def show_passages(ids: list[str], lang: str, idx: index_mod.Index | None = None, lead: str | None = None,
                  original: bool = False) -> dict[str, Any]:
    """Passages in full with their citations and footnotes (``show the full paragraph``);
    English readers get the translation first, ``original`` the Chinese as published."""
    idx = idx or search.get_index()
    passages, citations = [], []
    for pid in ids:
        p = idx.passage(pid)
        if p is None:
            continue
        result = search.result_dict(p, idx, lang, 0.0, [])
        passages.append(passage_entry(result, p, idx, lang, full=True, original=original))
        citations.append(citation_entry(result, p, idx, lang))
    if not passages:
        return payload("info", lang, t(lang, "no_previous"))
    notes = []
    for e in passages:
        for n in e["footnotes"]:
            notes.append(f"[{n['number']}] {n['shown']}")
    body = _render_passages(passages, lang)
    if notes:
        body += "\n\n" + "\n".join(notes)
    disc = disclaimer(lang, idx)
    lead = lead or t(lang, "original_lead" if original and lang != "zh" else "source_lead")
    text = f"{lead}\n\n{body}\n\n{disc}"
    return payload("answer", lang, text, lead=lead, full=True, citations=citations, passages=passages,
                   disclaimer=disc, buttons=_buttons(lang, False, False,
                                                     any(e["shown"] == "translation" for e in passages)))


def source(ctx: Context, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """The full text of what was shown last."""
    lang = ctx.lang or "en"
    if not ctx.shown:
        return payload("info", lang, t(lang, "no_previous"))
    return show_passages(ctx.shown[:1], lang, idx)


def original(ctx: Context, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """The original (Chinese) text of the passages shown last ("show original")."""
    lang = ctx.lang or "en"
    if not ctx.shown:
        return payload("info", lang, t(lang, "no_previous"))
    return show_passages(ctx.shown[:PAGE_SIZE], lang, idx, original=True)


_PARA = re.compile(r"(\d{1,3})\s*(?:\(([a-z])\)|([a-z])\b)?")


def paragraph(text: str, lang: str, doc: str | None = None, number: str | None = None,
              ctx: Context | None = None, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """Open a paragraph by number: "show paragraph 26 of A/CONF.234/11", "第82(e)段"."""
    idx = idx or search.get_index()
    doc_id = _resolve_doc(doc, idx) if doc else None
    if doc_id is None:
        named = search.mentioned_docs(text, idx)
        doc_id = next(iter(named)) if len(named) == 1 else None
    if doc_id is None and ctx and ctx.shown:
        p = idx.passage(ctx.shown[0])
        doc_id = p.doc_id if p else None
    numbered = [d for d, m in idx.documents.items() if m.get("numbered")]
    if doc_id is None:
        labels = ", ".join(_doc_name(idx.documents[d], lang) for d in numbered)
        return payload("info", lang, t(lang, "paragraph_which_doc", documents=labels))
    m = _PARA.search(number or "") or _PARA.search(re.sub(r"[A-Z]/CONF\.\d+/\d+|SFP\d+\.\d+", " ", text))
    meta = idx.documents[doc_id]
    if not m:
        return payload("info", lang, t(lang, "paragraph_missing", number="?", document=_doc_name(meta, lang)))
    num, sub = m.group(1), m.group(2) or m.group(3) or ""
    if meta.get("numbered"):
        pid = f"{doc_id}:{num}" + (f"-{sub}" if sub else "")
        if idx.passage(pid) is None:
            return payload("info", lang, t(lang, "paragraph_missing", number=num + (f"({sub})" if sub else ""),
                                           document=_doc_name(meta, lang)))
        label = cite.paragraph_label(idx.passage(pid), lang)  # type: ignore[arg-type]
        return show_passages([pid], lang, idx, lead=t(lang, "paragraph_lead", label=label))
    body = [p for p in idx.passages if p.doc_id == doc_id and p.kind == corpus_mod.BODY and not p.parent]
    k = int(num)
    if not 1 <= k <= len(body):
        return payload("info", lang, t(lang, "paragraph_missing", number=num, document=_doc_name(meta, lang)))
    return show_passages([body[k - 1].id], lang, idx, lead=t(lang, "paragraph_unnumbered", number=num))


def _resolve_doc(ref: str, idx: index_mod.Index) -> str | None:
    key = language.normalise(ref)
    for doc_id, meta in idx.documents.items():
        names = [doc_id, meta.get("symbol"), meta.get("file"), meta.get("source")] + list(meta.get("aliases") or [])
        if any(n and language.normalise(str(n)) == key for n in names):
            return doc_id
    named = search.mentioned_docs(ref, idx)
    return next(iter(named)) if len(named) == 1 else None


def _doc_name(meta: dict[str, Any], lang: str) -> str:
    short = meta.get("short_zh" if lang == "zh" else "short_en") or meta.get("title") or meta.get("id", "")
    symbol = meta.get("symbol")
    return f"{short} ({symbol})" if symbol and lang != "zh" else (f"{short}（{symbol}）" if symbol else short)


def documents(lang: str, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """The documents the assistant answers from."""
    idx = idx or search.get_index()
    lines = []
    for meta in idx.documents.values():
        title = meta.get("title") if lang == "zh" else (meta.get("title_en") or meta.get("title"))
        date = cite.format_date(str(meta.get("date") or ""), lang)
        extra = (f"（{date}）" if lang == "zh" else f" ({date})") if date else ""
        lines.append(t(lang, "document_line", label=_doc_name(meta, lang), title=title, extra=extra))
    text = t(lang, "documents_lead", count=len(lines)) + "\n" + "\n".join(lines)
    docs = [{"id": d, "symbol": m.get("symbol", ""), "title": m.get("title", ""), "title_en": m.get("title_en", ""),
             "date": m.get("date", ""), "licence": m.get("licence", "")} for d, m in idx.documents.items()]
    return payload("info", lang, text, documents=docs)


def topics(lang: str) -> dict[str, Any]:
    """The topics covered, each with an example question."""
    lines, buttons = [], []
    for tp in _data()["suggestions"]:
        label = tp.get("label_zh" if lang == "zh" else "label_en", tp.get("id"))
        example = (tp.get(lang) or [""])[0]
        lines.append(t(lang, "topics_line", label=label, example=example))
        if example:
            buttons.append({"title": label, "payload": example})
    return payload("info", lang, t(lang, "topics_lead") + "\n" + "\n".join(lines), buttons=buttons,
                   topics=[tp.get("id") for tp in _data()["suggestions"]])


def set_filter(doc: str | None, lang: str, idx: index_mod.Index | None = None) -> tuple[dict[str, Any], str | None]:
    """Restrict later searches to one document; returns the reply and the resolved document id."""
    idx = idx or search.get_index()
    doc_id = _resolve_doc(doc, idx) if doc else None
    if doc_id is None:
        names = ", ".join(_doc_name(m, lang) for m in idx.documents.values())
        return payload("info", lang, t(lang, "filter_unknown", documents=names)), None
    return payload("info", lang, t(lang, "filter_set", document=_doc_name(idx.documents[doc_id], lang)),
                   doc_filter=doc_id), doc_id


_DOWN = ("👎", "not helpful", "not useful", "unhelpful", "useless", "wrong", "bad answer", "irrelevant",
         "没用", "没有用", "没帮助", "不对", "错了", "答非所问", "不好", "不相关")
_UP = ("👍", "helpful", "useful", "good answer", "great", "perfect", "exactly", "有用", "有帮助", "很好", "赞",
       "不错", "准确")


def rating(text: str, value: str | None = None) -> str | None:
    """``up``/``down`` from a button's entity value or a typed rating ("👍", "not helpful", "没用")."""
    if value in ("up", "down"):
        return value
    lowered = (text or "").lower()
    if any(w in lowered for w in _DOWN):
        return "down"
    if any(w in lowered for w in _UP):
        return "up"
    return None


def feedback_thanks(lang: str, rating: str | None = None, ctx: Context | None = None) -> dict[str, Any]:
    """Acknowledge 👍/👎; the payload records what was rated."""
    return payload("info", lang, t(lang, "feedback_thanks"), rating=rating or "",
                   rated=list(ctx.shown) if ctx else [], rated_query=ctx.last_query if ctx else "")


_QUESTIONISH = re.compile(r"[?？]|[\u4e00-\u9fff]{2,}|[A-Za-z]{3,}")


def question_like(text: str) -> bool:
    """Whether a message could be a question (anything with words in it)."""
    return bool(_QUESTIONISH.search(text or "")) and bool(language.content_words(text))


def unclear(lang: str) -> dict[str, Any]:
    """Reply to a message with nothing to search for."""
    return payload("info", lang, t(lang, "unclear"), buttons=topics(lang)["buttons"][:3])


def respond(text: str, ctx: Context, doc: str | None = None, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """A message routed to document search: answer it, or ask for a question if it is none."""
    lang = reply_lang(text, ctx.lang)
    if not question_like(text):
        return unclear(lang)
    return answer(text, lang=lang, doc=doc, idx=idx)


_ALL_DOCS = re.compile(r"\ball (the )?documents\b|\beverything\b|全部文件|所有文件|全部文档|所有文档|不限")


def filter_reply(text: str, doc: str | None, ctx: Context,
                 idx: index_mod.Index | None = None) -> tuple[dict[str, Any], str | None]:
    """"Only in the IPIE brief": restrict the search, and re-answer the last question there."""
    idx = idx or search.get_index()
    lang = reply_lang(text, ctx.lang)
    if _ALL_DOCS.search(text.lower()):
        if ctx.last_query:
            return answer(ctx.last_query, lang=lang, idx=idx), None
        return payload("info", lang, t(lang, "filter_cleared")), None
    reply, doc_id = set_filter(doc or text, lang, idx)
    if doc_id and ctx.last_query:
        return answer(ctx.last_query, lang=lang, doc=doc_id, idx=idx), doc_id
    return reply, doc_id
