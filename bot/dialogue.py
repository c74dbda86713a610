"""Dialogue stage: a message in its conversation, resolved before it is searched.

People keep talking after a first question: "when did he do it?", "那中国呢？", "which
paragraph was that?", "the second one", "only in the Kyoto report", "ok, different question:
...". ``understand`` decides what a message to the documents means given the conversation
(``Context``): a new question, a continuation of the topic (searched with the topic's words,
preferring the documents just discussed), a question about what was shown (its source,
heading, footnotes, an item of it), a narrowing to one document or a widening to all, more of
the same answer, or an explicit topic switch that must not carry the old topic. It reads the
message's cues (``bot/followup.py``) and, where they do not settle it, compares the search of
the message alone with the search of the message in its topic. No generative model: only
retrieval signals, cues in the text and the conversation state.

``respond`` is the one entry the Rasa actions, the CLI and the evaluation call for a message
routed to the documents (after the guard); ``after`` is the conversation state the reply
leaves, which the action stores in slots. A reply resolved with context says what was
searched (``resolved_query`` in the payload, "Searching for: ..." on every channel).
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot import answers, followup, lang as lang_mod, language, script
from bot.conversation import Context, Understood
from bot.query import EmptyQuery
from bot.reply import Reply
from bot.resources import Resources
from bot.search import SearchResult

# jieba tags of names (places, people, organisations): an ellipsis naming one replaces the topic's
_NAME_TAGS = ("ns", "nr", "nt", "nz", "nrt", "nrfg")
_QUESTION_WORDS = re.compile(r"^(?:what|whats|which|who|whom|whose|when|where|why|how|does|do|did|is|are|was|were|"
                             r"can|could|would|should|will|tell|me|say|says|said|about|any|anything|there|much|many|"
                             r"什么|怎么|怎样|哪些|哪个|哪里|哪年|多少|为什么|是否|有没有|是不是|吗|呢|说|讲|提到|具体)$", re.I)


def topic_words(engine: Resources, text: str, drop_names: bool = False) -> str:
    """The content of a topic question without its question words (and, for an ellipsis that
    names something else, without its own names: "欧盟对AI是怎么管的？" → "AI 管")."""
    try:
        q = engine.searcher.prepare(text)
    except EmptyQuery:
        return ""
    words = [w for w in language.content_words(q.text) if not _QUESTION_WORDS.match(w)]
    if drop_names:
        names = {w.lower() for w, tag in language.pos_tags(q.text) if tag in _NAME_TAGS}
        names |= {w.lower() for w in re.findall(r"\b[A-Z][a-z]+\b", q.text)[1:]}
        words = [w for w in words if w not in names]
    seen: list[str] = []
    for w in words:
        # as the user wrote it ("PhotoDNA", not the lower-cased search word)
        m = re.search(re.escape(w), q.text, re.I)
        shown = m.group(0) if m else w
        if shown not in seen:
            seen.append(shown)
    return " ".join(seen)


def _own_content(engine: Resources, text: str) -> list[str]:
    try:
        q = engine.searcher.prepare(text)
    except EmptyQuery:
        return []
    return [w for w in language.content_words(q.dense_text) if not _QUESTION_WORDS.match(w)
            and not followup.REFERS_EN.fullmatch(w) and not followup.REFERS_ZH.fullmatch(w)]


def _search(engine: Resources, text: str, doc: str | None, prefer: frozenset[str] = frozenset()
            ) -> SearchResult | None:
    try:
        return engine.searcher.search(text, top_k=answers.MAX_RESULTS, doc=doc, prefer=prefer)
    except EmptyQuery:
        return None


def _ok(result: SearchResult | None) -> bool:
    return result is not None and result.status == "ok" and bool(result.hits)


def _conf(result: SearchResult | None) -> float:
    return result.confidence if result is not None else 0.0


def _item(engine: Resources, ctx: Context, cue: followup.Cues) -> tuple[str, ...]:
    """The passage an ordinal or letter points at among what was shown: a sub-item of a
    shown paragraph ("(h)", "the third one"), else the n-th passage shown."""
    idx = engine.index
    shown = [p for p in (idx.passage(pid) for pid in ctx.shown) if p is not None]
    for p in shown:
        parent = idx.passage(p.parent) if p.parent else p
        if parent is None:
            continue
        children = [c for c in (idx.passage(cid) for cid in parent.children) if c is not None]
        if cue.letter:
            hit = [c for c in children if c.sub == cue.letter]
            if hit:
                return (hit[0].id,)
            if parent.number is not None:
                guess = idx.passage(f"{parent.doc_id}:{parent.number}-{cue.letter}")
                if guess is not None:
                    return (guess.id,)
        elif cue.ordinal is not None and children:
            k = cue.ordinal - 1 if cue.ordinal > 0 else len(children) - 1
            if 0 <= k < len(children):
                return (children[k].id,)
    if cue.ordinal is not None and not cue.letter and len(shown) > 1:
        k = cue.ordinal - 1 if cue.ordinal > 0 else len(shown) - 1
        if 0 <= k < len(shown):
            return (shown[k].id,)
    return ()


def understand(engine: Resources, text: str, ctx: Context, doc: str | None = None,
               cue: followup.Cues | None = None) -> tuple[Understood, SearchResult | None]:
    """What ``text`` means in the conversation ``ctx`` (see the module docstring), with the
    search result when one was run. ``doc``: a document named by Rasa's entity or the filter."""
    simple = script.normalise(text)
    cue = cue or followup.cues(simple)
    catalog = engine.index.catalog
    named = catalog.named_in(simple)
    topic = ctx.topic or ctx.last_query
    shown_docs = frozenset(p.doc_id for p in (engine.index.passage(pid) for pid in ctx.shown) if p is not None)
    active = doc or ctx.doc
    # "the article" without a name is the document just discussed, even after a topic switch
    generic = frozenset() if named else (shown_docs if followup.GENERIC_DOC.search(simple) else frozenset())
    if cue.switch:
        # the old topic does not carry over; the filter is lifted unless the new question names
        # a document itself
        doc_new = next(iter(named)) if len(named) == 1 and doc else None
        return Understood("switch", cue.text, True, doc_new, generic, reasons=("topic switch",)), \
            _search(engine, cue.text, doc_new, generic)
    if not topic:
        if (cue.shown or cue.letter or cue.ordinal is not None) and len(_own_content(engine, cue.text)) <= 2:
            # "which paragraph was that?" with nothing shown yet: nothing to point at
            return Understood("nothing", "", False, active, reasons=("points back, nothing shown",)), None
        return Understood("new", text, False, active), _search(engine, text, active)
    own = _own_content(engine, cue.text)
    rest = simple
    for _, start, end in sorted(catalog.references(simple), key=lambda r: -r[1]):
        rest = rest[:start] + " " + rest[end:]
    only_names = bool(named) and not followup.NARROW_FILLER.sub("", rest).strip()
    # widening: "in all the documents" — the topic again, everywhere
    if cue.widen and not named and len(own) <= 4:
        return Understood("widen", topic, True, None, reasons=("widen",)), _search(engine, topic, None)
    # narrowing: "only in the Kyoto report", "只看京都那份报告" — the topic in that document
    if len(named) == 1 and only_names:
        target = next(iter(named))
        return Understood("narrow", topic, True, target, reasons=("narrow",)), _search(engine, topic, target)
    # about what was shown: its source, heading, footnote; an item of it
    if ctx.shown and (cue.letter or (cue.ordinal is not None and len(own) <= 2)):
        item = _item(engine, ctx, cue)
        if item:
            return Understood("item", "", False, active, passages=item, reasons=("item of what was shown",)), None
    if ctx.shown and cue.shown and len(own) <= 6:
        return Understood("shown", "", False, active, passages=tuple(ctx.shown[:1]),
                          reasons=("about what was shown",)), None
    # a document named with a pointer ("京都那份报告里也提到它了吗？"): the topic, in that document
    target = next(iter(named)) if len(named) == 1 and cue.leans_back else active
    # continuation or a new question: the message alone against the message in its topic
    alone = _search(engine, text, target) if own or not cue.leans_back else None
    words = topic_words(engine, topic, drop_names=cue.ellipsis and bool(own))
    combined_text = f"{words} — {cue.text}" if words else cue.text
    prefer = shown_docs if not named else frozenset()
    leans = cue.leans_back or cue.ellipsis
    few = len(own) <= 2
    if generic and not leans:
        alone = _search(engine, text, target, generic)
    if not leans and not few and _ok(alone):
        return Understood("new", text, False, target, reasons=("stands alone",)), alone
    combined = _search(engine, combined_text, target, prefer)
    reasons: tuple[str, ...]
    if leans and own and cue.ellipsis:
        # "那讲人工智能那场呢？": the new part in the documents just discussed, or in the topic's words
        alone = _search(engine, cue.text, target, prefer)
        use_combined = _ok(combined) and (not _ok(alone) or _conf(combined) >= _conf(alone))
        reasons = ("ellipsis",)
    elif leans:
        use_combined = _ok(combined) or not _ok(alone)
        reasons = ("leans back",)
    else:
        use_combined = _ok(combined) and (not _ok(alone) or _conf(combined) > _conf(alone))
        reasons = ("short question, topic more confident",) if use_combined else ("stands alone",)
    if use_combined:
        return Understood("continue", combined_text, True, target, prefer, reasons=reasons), combined
    if cue.ellipsis and alone is not None:
        return Understood("continue", cue.text, True, target, prefer, reasons=reasons), alone
    return Understood("new", text, False, target, reasons=reasons), alone


def respond(engine: Resources, text: str, ctx: Context, doc: str | None = None) -> Reply:
    """The reply to a message routed to the documents (after the guard), in its conversation;
    ``reply.understood`` says how it was read."""
    lang = lang_mod.reply_lang(text, ctx.lang)
    cue = followup.cues(script.normalise(text or ""))
    in_topic = bool(ctx.topic or ctx.last_query) and (cue.leans_back or cue.ellipsis or cue.shown)
    if not answers.question_like(text) and not in_topic:
        return answers.unclear(engine, lang)
    understood, result = understand(engine, text, ctx, doc, cue)
    if understood.move in ("shown", "item"):
        p = engine.index.passage(understood.passages[0]) if understood.passages else None
        lead = None
        if p is not None and understood.move == "shown":
            lead = engine.texts.t(lang, "shown_lead", citation=engine.index.citation(p, lang))
        reply = answers.show_passages(engine, list(understood.passages), lang, lead=lead)
    elif understood.move == "nothing":
        reply = answers.info(engine, lang, "no_previous")
    elif result is None:
        reply = answers.unclear(engine, lang)
    else:
        reply = answers.from_result(engine, result, lang, doc=understood.doc,
                                    resolved=understood.query if understood.resolved else "")
    reply.understood = understood
    return reply


def after(ctx: Context, reply: Reply, text: str = "") -> Context:
    """The conversation state after ``reply`` to ``text`` (what the action stores in slots)."""
    new = replace(ctx, lang=reply.lang, last_kind=reply.kind, script=script_of(text, ctx.script))
    understood = reply.understood
    if reply.kind == "answer" and reply.data.get("query") is not None:
        nxt = reply.data.get("next_offset")
        total = int(reply.data.get("total") or 0)
        new.last_query = str(reply.data["query"])
        # after the last page "more" says that was everything instead of starting again
        new.offset = int(nxt) if nxt is not None else total
        new.shown = [q.id for q in reply.quotes]
        if understood is None:     # more, a filter set by a button: the topic stays
            new.topic = ctx.topic or str(reply.data["query"])
        elif understood.move in ("new", "switch"):
            new.topic = understood.query or str(reply.data["query"])
        if understood is not None and understood.move in ("narrow", "widen", "switch"):
            new.doc = understood.doc   # a narrowing holds; widening and a topic switch lift it
    elif reply.kind == "answer":
        new.shown = [q.id for q in reply.quotes]
    elif reply.kind == "no_answer" and understood is not None and understood.move in ("new", "switch"):
        # a new topic the documents do not cover: later follow-ups must not lean on the old one
        new.topic, new.last_query, new.shown, new.offset = understood.query or None, None, [], 0
        near = reply.data.get("near")
        if near:   # "show the full paragraph" opens the closest passage named in the reply
            new.shown = [near["id"]]
    elif reply.kind == "refusal":
        new.topic, new.last_query, new.shown, new.offset = None, None, [], 0
    elif reply.kind == "info" and reply.data.get("doc_filter") is not None:
        new.doc = reply.data.get("doc_filter") or None
    return new


def script_of(text: str, previous: str) -> str:
    """``hant`` when the user writes traditional characters, ``hans`` for simplified; a message
    without Chinese keeps the conversation's."""
    if not text or text.startswith("/") or not lang_mod.has_cjk(text):
        return previous
    return "hant" if script.is_traditional(text) else "hans"


def reply_in_script(reply: Reply, script_name: str) -> Reply:
    """The assistant's own sentences in traditional characters for a reader who writes them;
    quotes and citations stay as the documents print them."""
    if script_name != "hant" or reply.lang != "zh" or reply.data.get("script") == "hant":
        return reply
    return answers.to_traditional(reply)

