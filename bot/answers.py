"""Answers stage: turn search hits into the reply a user reads.

Every function returns a typed ``Reply`` (``bot/reply.py``); its layout for each channel is
``bot/render.py``'s. English readers see a passage's unofficial English translation first
(``shown`` is ``"translation"``, ``translation`` is ``"unofficial"``) and the original on
request (``/show_original``); a document without a translation is quoted in the original
(``translation`` ``"unavailable"``). Chinese readers see the original. Strings come from
``bot/texts.py``; quoted text always comes verbatim from the corpus.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from dataclasses import replace

from bot import cite, corpus as corpus_mod, lang as lang_mod, language, render, script
from bot.conversation import Context
from bot.reply import Button, Citation, Note, Quote, Reply
from bot.resources import Resources
from bot.search import Hit, SearchResult, Span


PAGE_SIZE = 2          # passages per reply
MAX_RESULTS = 10       # passages a question can page through
EXCERPT_CHARS = {"zh": 260, "en": 520}   # about the same content: English takes ~2 characters per Chinese one


# --------------------------------------------------------------------------------------
# building blocks


def disclaimer(engine: Resources, lang: str) -> str:
    """The disclaimer with the indexed documents' dates."""
    return engine.texts.disclaimer(lang, engine.index.catalog.dates_text(lang))


def excerpt(text: str, spans: Iterable[Span], limit: int) -> tuple[str, list[tuple[int, int]], bool]:
    """A window of ``text`` around the highlighted sentence(s); returns (excerpt, spans in it, cut)."""
    spans = list(spans)
    if len(text) <= limit or not spans:
        start, end = 0, len(text) if len(text) <= limit else limit
    else:
        hs, he = min(s.start for s in spans), max(s.end for s in spans)
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
    inner = [(max(s.start, start) - start, min(s.end, end) - start) for s in spans if s.end > start and s.start < end]
    return text[start:end], inner, cut


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
    return "original", ("unavailable" if lang_mod.has_cjk(p.text) else "")


def section_label(p: corpus_mod.Passage, lang: str) -> str:
    """The section number and innermost heading as citations show them (``lang``: the language
    of the question the passage was found for)."""
    return cite.section_label(p.section, "zh" if lang == "zh" else "en")


def quote(engine: Resources, p: corpus_mod.Passage, lang: str, highlights: tuple[Span, ...] = (),
          highlights_en: tuple[Span, ...] = (), score: float = 0.0, full: bool = False,
          original: bool = False, section_lang: str | None = None) -> Quote:
    """One passage as a reply quotes it: the reading shown (English first for English readers
    where a translation exists), the excerpt around its best sentence, citation and notes.
    ``section_lang``: the language its section label is written in (default ``lang``)."""
    shown, translation = reading(p, lang, original)
    text = p.text_en if shown == "translation" else p.text
    spans = highlights_en if shown == "translation" else highlights
    limit = len(text) if full else EXCERPT_CHARS["zh" if lang_mod.has_cjk(text) else "en"]
    excerpt_text, inner, cut = excerpt(text, spans, limit)
    notes = tuple(Note(n.id, cite.note_label(n.id), n.text, n.text_en,
                       n.text_en if shown == "translation" and n.text_en else n.text)
                  for n in engine.index.footnotes(p))
    t = engine.texts.t
    # a document without any translation, or a part of a translated one that has none (a title page)
    missing = ("translation_unavailable_part" if p.doc_id in engine.index.manifest.get("translated_documents", [])
               else "translation_unavailable")
    note = (t(lang, "translation_label") if translation == "unofficial"
            else (t(lang, missing) if translation == "unavailable" else ""))
    return Quote(p, shown, translation, note, excerpt_text, cut, tuple(highlights), tuple(highlights_en),
                 tuple(inner), engine.index.citation(p, lang), section_label(p, section_lang or lang), notes,
                 round(float(score), 4))


def citation(engine: Resources, p: corpus_mod.Passage, lang: str, section_lang: str | None = None) -> Citation:
    meta = engine.index.catalog.meta(p.doc_id)
    return Citation(p.id, p.doc_id, meta.get("title", ""), meta.get("title_en", ""), meta.get("symbol", ""),
                    section_label(p, section_lang or lang), p.label, engine.index.citation(p, lang),
                    cite.document_url(meta))


def _buttons(engine: Resources, lang: str, more: bool, full: bool, original: bool = False) -> list[Button]:
    t = engine.texts.t
    out = []
    if more:
        out.append(Button(t(lang, "buttons.more"), "/more_results"))
    if full:
        out.append(Button(t(lang, "buttons.full"), "/show_source"))
    if original:
        out.append(Button(t(lang, "buttons.original"), "/show_original"))
    out.append(Button(t(lang, "buttons.up"), '/feedback{"rating": "up"}'))
    out.append(Button(t(lang, "buttons.down"), '/feedback{"rating": "down"}'))
    return out


def info(engine: Resources, lang: str, key: str, **data: Any) -> Reply:
    """A one-line reply from a template, with payload fields ``data``."""
    return Reply("info", lang, engine.texts.t(lang, key), data=data)


def _quoted(engine: Resources, lang: str, quotes: list[Quote], lead: str, buttons: list[Button],
            full: bool = False, section_lang: str | None = None, **data: Any) -> Reply:
    """An answer quoting ``quotes``, laid out for the web (its ``text``)."""
    reply = Reply("answer", lang, lead=lead, quotes=quotes,
                  citations=[citation(engine, q.passage, lang, section_lang) for q in quotes],
                  disclaimer=disclaimer(engine, lang), buttons=buttons, full=full,
                  source_label=engine.texts.source_label(lang), data=data)
    reply.text = render.web_text(reply)
    return reply


# --------------------------------------------------------------------------------------
# replies


def answer(engine: Resources, question: str, lang: str | None = None, doc: str | None = None, offset: int = 0,
           page_size: int = PAGE_SIZE) -> Reply:
    """Answer a question from the documents (or say honestly that they do not cover it)."""
    lang = lang or lang_mod.reply_lang(question)
    result = engine.searcher.search(question, top_k=MAX_RESULTS, doc=doc)
    return from_result(engine, result, lang, doc=doc, offset=offset, page_size=page_size)


def from_result(engine: Resources, result: SearchResult, lang: str, doc: str | None = None, offset: int = 0,
                page_size: int = PAGE_SIZE, resolved: str = "") -> Reply:
    """The reply for a search result: a page of quoted passages, or "not in the documents".
    ``resolved``: what was searched when the conversation changed it ("Searching for: ...")."""
    hits = _dedupe(result.hits, engine)
    common = {"query": result.query.text, "confidence": round(result.confidence, 4), "doc_filter": doc or "",
              "offset": offset, "topics": result.topics, "notice": result.notice}
    t = engine.texts.t
    searching = t(lang, "searching_for", query=resolved) + "\n" if resolved else ""
    if result.status != "ok" or not hits:
        reply = near_miss(engine, lang, result, common) if result.near is not None else no_answer(engine, lang, **common)
        if searching:
            reply.text = searching + reply.text
            reply.resolved_query = resolved
        return reply
    page = hits[offset: offset + page_size]
    if not page:
        return info(engine, lang, "lead_no_more", **common, next_offset=None, total=len(hits))
    if offset:
        lead = (t(lang, "lead_more", first=offset + 1, last=offset + len(page), total=len(hits)) if len(page) > 1
                else t(lang, "lead_more_one", first=offset + 1, total=len(hits)))
    elif doc and engine.index.catalog.resolve(doc):
        lead = t(lang, "lead_filtered", document=engine.index.catalog.name(engine.index.catalog.resolve(doc) or "", lang))
    else:
        lead = t(lang, "lead")
    notice = f"\n({result.notice})" if result.notice else ""
    # section labels follow the question's language (a Chinese question re-answered in English
    # keeps its Chinese section numbers)
    quotes = [quote(engine, h.passage, lang, h.highlights, h.highlights_en, h.score, section_lang=result.query.lang)
              for h in page]
    has_more = offset + page_size < len(hits)
    reply = _quoted(engine, lang, quotes, searching + lead + notice,
                    _buttons(engine, lang, has_more, any(q.truncated for q in quotes),
                             any(q.shown == "translation" for q in quotes)),
                    section_lang=result.query.lang, next_offset=offset + page_size if has_more else None,
                    total=len(hits), **common)
    reply.resolved_query = resolved
    return reply


def _dedupe(hits: list[Hit], engine: Resources) -> list[Hit]:
    """Drop a paragraph when its sub-item ranks higher, and a sub-item when its paragraph does."""
    kept: list[Hit] = []
    family: set[str] = set()
    for h in hits:
        p = h.passage
        if p.id in family:
            continue
        kept.append(h)
        family.add(p.id)
        family.update(p.children)
        if p.parent:
            family.add(p.parent)
    return kept


def no_answer(engine: Resources, lang: str, **data: Any) -> Reply:
    """Honest "not in the documents", with the topics they do cover and example questions."""
    topics = engine.texts.suggestions
    labels = [tp.get("label_zh" if lang == "zh" else "label_en", tp.get("id", "")) for tp in topics]
    if not labels:  # no suggestions file: the glossary's topic labels
        labels = list(engine.glossary.topics.values())[:8]
    examples = [tp[lang][0] for tp in topics[:3] if tp.get(lang)]
    sep = "、" if lang == "zh" else ", "
    t = engine.texts.t
    text = t(lang, "no_answer", topics=sep.join(labels) if labels else "—")
    if examples:
        text += "\n" + t(lang, "no_answer_try") + "\n" + "\n".join(f"• {e}" for e in examples)
    return Reply("no_answer", lang, text, buttons=[Button(e, e) for e in examples],
                 data={"suggestions": examples, **data})


def near_miss(engine: Resources, lang: str, result: SearchResult, common: dict[str, Any]) -> Reply:
    """"Not in the documents" for a missing fact, saying what the closest passage does give:
    its citation and its best sentence, verbatim (the payload's ``near``)."""
    hit = result.near
    assert hit is not None
    p = hit.passage
    english = lang != "zh" and bool(p.text_en) and bool(hit.highlights_en)
    span = (hit.highlights_en if english else hit.highlights)[:1]
    sentence = span[0].text.strip() if span else (p.text_en if english else p.text)[:200]
    citation = engine.index.citation(p, lang)
    text = engine.texts.t(lang, "no_answer_near", citation=citation, sentence=sentence)
    return Reply("no_answer", lang, text, buttons=[Button(engine.texts.t(lang, "buttons.full"), "/show_source")],
                 data={**common, "suggestions": [],
                       "near": {"id": p.id, "citation": citation, "sentence": sentence,
                                "reading": "translation" if english else "original"}})


def more(engine: Resources, ctx: Context) -> Reply:
    """The next page of the last question's results (after the last one: "that was everything")."""
    lang = ctx.lang or "en"
    if not ctx.last_query:
        return info(engine, lang, "no_previous")
    return answer(engine, ctx.last_query, lang=lang, doc=ctx.doc, offset=ctx.offset)


def to_traditional(reply: Reply) -> Reply:
    """The assistant's own sentences of a Chinese reply in traditional characters (lead, text,
    buttons, disclaimer, the words around citations); quotes and citations stay as the
    documents print them."""
    conv = script.to_traditional
    out = replace(reply, lead=conv(reply.lead), disclaimer=conv(reply.disclaimer),
                  buttons=[Button(conv(b.title), b.payload if b.payload.startswith("/") else conv(b.payload))
                           for b in reply.buttons],
                  source_label=(conv(reply.source_label[0]), conv(reply.source_label[1])),
                  data={**reply.data, "script": "hant"})
    if out.quotes:
        out.text = render.web_text(out)
    else:
        out.text = conv(reply.text)
    return out


def show_passages(engine: Resources, ids: list[str], lang: str, lead: str | None = None,
                  original: bool = False) -> Reply:
    """Passages in full with their citations and footnotes (``show the full paragraph``);
    English readers get the translation first, ``original`` the Chinese as published."""
    passages = [p for p in (engine.index.passage(pid) for pid in ids) if p is not None]
    if not passages:
        return info(engine, lang, "no_previous")
    quotes = [quote(engine, p, lang, full=True, original=original) for p in passages]
    lead = lead or engine.texts.t(lang, "original_lead" if original and lang != "zh" else "source_lead")
    return _quoted(engine, lang, quotes, lead,
                   _buttons(engine, lang, False, False, any(q.shown == "translation" for q in quotes)), full=True)


def source(engine: Resources, ctx: Context) -> Reply:
    """The full text of what was shown last."""
    lang = ctx.lang or "en"
    if not ctx.shown:
        return info(engine, lang, "no_previous")
    return show_passages(engine, ctx.shown[:1], lang)


def original(engine: Resources, ctx: Context) -> Reply:
    """The original (Chinese) text of the passages shown last ("show original")."""
    lang = ctx.lang or "en"
    if not ctx.shown:
        return info(engine, lang, "no_previous")
    return show_passages(engine, ctx.shown[:PAGE_SIZE], lang, original=True)


_PARA = re.compile(r"(\d{1,3})\s*(?:\(([a-z])\)|([a-z])\b)?")


def paragraph(engine: Resources, text: str, lang: str, doc: str | None = None, number: str | None = None,
              ctx: Context | None = None) -> Reply:
    """Open a paragraph by number: "show paragraph 26 of A/CONF.234/11", "第82(e)段"."""
    idx = engine.index
    catalog = idx.catalog
    t = engine.texts.t
    doc_id = catalog.resolve(doc) if doc else None
    if doc_id is None:
        named = catalog.named_in(text)
        doc_id = next(iter(named)) if len(named) == 1 else None
    if doc_id is None and ctx and ctx.shown:
        p = idx.passage(ctx.shown[0])
        doc_id = p.doc_id if p else None
    if doc_id is None:
        labels = ", ".join(catalog.name(d, lang) for d in catalog.numbered())
        return Reply("info", lang, t(lang, "paragraph_which_doc", documents=labels))
    m = _PARA.search(number or "") or _PARA.search(re.sub(r"[A-Z]/CONF\.\d+/\d+|SFP\d+\.\d+", " ", text))
    meta = catalog.meta(doc_id)
    name = catalog.name(doc_id, lang)
    if not m:
        return Reply("info", lang, t(lang, "paragraph_missing", number="?", document=name))
    num, sub = m.group(1), m.group(2) or m.group(3) or ""
    if meta.get("numbered"):
        pid = f"{doc_id}:{num}" + (f"-{sub}" if sub else "")
        p = idx.passage(pid)
        if p is None:
            return Reply("info", lang, t(lang, "paragraph_missing", number=num + (f"({sub})" if sub else ""),
                                         document=name))
        return show_passages(engine, [pid], lang, lead=t(lang, "paragraph_lead", label=cite.paragraph_label(p, lang)))
    body = [p for p in idx.passages if p.doc_id == doc_id and p.kind == corpus_mod.BODY and not p.parent]
    k = int(num)
    if not 1 <= k <= len(body):
        return Reply("info", lang, t(lang, "paragraph_missing", number=num, document=name))
    return show_passages(engine, [body[k - 1].id], lang, lead=t(lang, "paragraph_unnumbered", number=num))


def documents(engine: Resources, lang: str) -> Reply:
    """The documents the assistant answers from."""
    catalog = engine.index.catalog
    t = engine.texts.t
    lines = []
    for doc_id, meta in catalog.items():
        title = meta.get("title") if lang == "zh" else (meta.get("title_en") or meta.get("title"))
        date = cite.format_date(str(meta.get("date") or ""), lang)
        extra = (f"（{date}）" if lang == "zh" else f" ({date})") if date else ""
        lines.append(t(lang, "document_line", label=catalog.name(doc_id, lang), title=title, extra=extra))
    text = t(lang, "documents_lead", count=len(lines)) + "\n" + "\n".join(lines)
    docs = [{"id": d, "symbol": m.get("symbol", ""), "title": m.get("title", ""), "title_en": m.get("title_en", ""),
             "date": m.get("date", ""), "licence": m.get("licence", "")} for d, m in catalog.items()]
    return Reply("info", lang, text, data={"documents": docs})


def topics(engine: Resources, lang: str) -> Reply:
    """The topics covered, each with an example question."""
    t = engine.texts.t
    lines, buttons = [], []
    for tp in engine.texts.suggestions:
        label = tp.get("label_zh" if lang == "zh" else "label_en", tp.get("id"))
        example = (tp.get(lang) or [""])[0]
        lines.append(t(lang, "topics_line", label=label, example=example))
        if example:
            buttons.append(Button(label, example))
    return Reply("info", lang, t(lang, "topics_lead") + "\n" + "\n".join(lines), buttons=buttons,
                 data={"topics": [tp.get("id") for tp in engine.texts.suggestions]})


def set_filter(engine: Resources, doc: str | None, lang: str) -> tuple[Reply, str | None]:
    """Restrict later searches to one document; returns the reply and the resolved document id."""
    catalog = engine.index.catalog
    t = engine.texts.t
    doc_id = catalog.resolve(doc) if doc else None
    if doc_id is None:
        names = ", ".join(catalog.name(d, lang) for d in catalog)
        return Reply("info", lang, t(lang, "filter_unknown", documents=names)), None
    return Reply("info", lang, t(lang, "filter_set", document=catalog.name(doc_id, lang)),
                 data={"doc_filter": doc_id}), doc_id


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


def feedback_thanks(engine: Resources, lang: str, rating: str | None = None, ctx: Context | None = None) -> Reply:
    """Acknowledge 👍/👎; the payload records what was rated."""
    return info(engine, lang, "feedback_thanks", rating=rating or "", rated=list(ctx.shown) if ctx else [],
                rated_query=ctx.last_query if ctx else "")


_QUESTIONISH = re.compile(r"[?？]|[\u4e00-\u9fff]{2,}|[A-Za-z]{3,}")


def question_like(text: str) -> bool:
    """Whether a message could be a question (anything with words in it)."""
    return bool(_QUESTIONISH.search(text or "")) and bool(language.content_words(text))


def unclear(engine: Resources, lang: str) -> Reply:
    """Reply to a message with nothing to search for."""
    return Reply("info", lang, engine.texts.t(lang, "unclear"), buttons=topics(engine, lang).buttons[:3])


_ALL_DOCS = re.compile(r"\ball (the )?documents\b|\beverything\b|全部文件|所有文件|全部文档|所有文档|不限")


def filter_reply(engine: Resources, text: str, doc: str | None, ctx: Context) -> tuple[Reply, str | None]:
    """"Only in the IPIE brief": restrict the search, and re-answer the last question there."""
    lang = lang_mod.reply_lang(text, ctx.lang)
    if _ALL_DOCS.search(text.lower()):
        if ctx.last_query:
            return answer(engine, ctx.last_query, lang=lang), None
        return info(engine, lang, "filter_cleared"), None
    reply, doc_id = set_filter(engine, doc or text, lang)
    if doc_id and ctx.last_query:
        return answer(engine, ctx.last_query, lang=lang, doc=doc_id), doc_id
    return reply, doc_id
