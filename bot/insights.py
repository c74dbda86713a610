"""Insights (issue #21): what the room asked and how the assistant answered, from Rasa's tracker store.

``report`` computes one typed ``Report`` from the tracker store's events (``bot/trackerdb.py``:
SQLite by default, PostgreSQL in the scaled-out stack); ``python -m bot insights``, the web
server's ``/api/insights`` and the tests call it. ``room`` is the presenter view's live panel.

A *turn* is one user message and what the assistant sent until the next one. Its outcome is the
``kind`` of the first answer payload the action sent (``answer``, ``no_answer``, ``refusal``,
``support``; anything else, e.g. a greeting, a 👍/👎 acknowledgement or "being rebuilt", is
``other``). Its language is the payload's ``lang`` (else the conversation's ``lang`` slot, else
the message's own), its channel Rasa's ``input_channel``. Days are UTC dates.

Privacy: message texts (declined questions, the question of a rated answer, the room's questions)
are in a report only when asked for (``texts=True``: the CLI, or a token holder on the web), when
``BOT_INSIGHTS_TEXTS`` is on, and only for messages younger than ``BOT_INSIGHTS_RETENTION_DAYS``
(the window ``make purge DAYS=…`` keeps); otherwise they are ``null`` and only counts remain.
Citations are corpus data and always shown. Nothing here logs a message text or a sender id;
sender ids never leave this module (conversations are counted, not named).
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from bot import config, lang as lang_mod, trackerdb

OUTCOMES = ("answer", "no_answer", "refusal", "support", "other")
FOLLOW_UP_MOVES = ("continue", "switch", "narrow", "widen", "shown", "item")
# Rasa intents that act on the previous answer (more results, its source, the original, a
# paragraph of it, the same question in one document)
FOLLOW_UP_INTENTS = ("more_results", "show_source", "show_original", "ask_paragraph", "filter_document")
SIMILARITY = 0.5          # token-set Jaccard at or above which two declined questions are one group
TOP = 20                  # entries in each "most ..." list
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.I)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class InsightsError(ValueError):
    """Bad input (``--since``) or an unreadable store."""


# ---------------------------------------------------------------------------------------------
# reading the events


@dataclass
class Turn:
    sender: str
    time: float
    text: str
    intent: str
    channel: str
    lang: str = ""
    kind: str = ""                                   # the first payload's kind ("" when none)
    payload: dict[str, Any] | None = None
    rating: str = ""                                 # up / down for a 👍/👎 turn

    @property
    def outcome(self) -> str:
        return self.kind if self.kind in OUTCOMES[:-1] else "other"

    @property
    def is_rating(self) -> bool:
        return bool(self.rating) or self.intent == "feedback"

    @property
    def follow_up(self) -> str:
        """How this turn followed up the previous answer ("": it did not): the intent
        (``more_results``, …) or the conversation's reading of it (``continue``, ``narrow``, …)."""
        if self.is_rating:
            return ""
        if self.intent in FOLLOW_UP_INTENTS:
            return self.intent
        move = str((self.payload or {}).get("move") or "")
        return move if move in FOLLOW_UP_MOVES else ""


def _custom(data: dict[str, Any]) -> dict[str, Any] | None:
    custom = (data.get("data") or {}).get("custom") if isinstance(data.get("data"), dict) else None
    return custom if isinstance(custom, dict) and custom.get("kind") else None


def turns(rows: Iterable[trackerdb.Row]) -> list[Turn]:
    """The turns of every conversation, in order (events before a conversation's first user
    message in the window are ignored)."""
    out: list[Turn] = []
    current: Turn | None = None
    sender = None
    slot_lang = ""
    for row in rows:
        if row.sender_id != sender:
            sender, current, slot_lang = row.sender_id, None, ""
        d = row.data
        if row.type_name == "user":
            parse = d.get("parse_data") if isinstance(d.get("parse_data"), dict) else {}
            intent = (parse.get("intent") or {}).get("name") or ""
            text = d.get("text") if isinstance(d.get("text"), str) else ""
            current = Turn(sender=row.sender_id, time=row.timestamp, text=text, intent=str(intent),
                           channel=str(d.get("input_channel") or "unknown"))
            if intent == "feedback":
                for e in parse.get("entities") or []:
                    if isinstance(e, dict) and e.get("entity") == "rating" and e.get("value") in ("up", "down"):
                        current.rating = e["value"]
            out.append(current)
        elif current is None:
            if row.type_name == "slot" and d.get("name") == "lang":
                slot_lang = str(d.get("value") or "")
            continue
        elif row.type_name == "slot":
            if d.get("name") == "lang" and d.get("value"):
                slot_lang = str(d["value"])
                current.lang = current.lang if current.payload else slot_lang
            elif d.get("name") == "rating" and d.get("value") in ("up", "down") and current.intent == "feedback":
                current.rating = d["value"]
        elif row.type_name == "bot" and current.payload is None:
            custom = _custom(d)
            if custom is not None:
                current.payload, current.kind = custom, str(custom.get("kind"))
                current.lang = str(custom.get("lang") or current.lang or slot_lang)
                if current.intent == "feedback" and custom.get("rating") in ("up", "down"):
                    current.rating = custom["rating"]
    for t in out:
        if not t.lang:
            t.lang = lang_mod.reply_lang(t.text) if t.text else "unknown"
    return out


# ---------------------------------------------------------------------------------------------
# grouping declined questions

_WORD = re.compile(r"[a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
STOP = frozenset("""a an and are as at be by can could did do does for from has have how i if in into is it its
    me my of on or s say says should tell that the their there these they this to was what when where which who
    why will with would you your documents document""".split())


def normalise(text: str) -> str:
    """Lower case, NFKC, simplified characters, single spaces."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    try:
        from bot import script   # zhconv: traditional → simplified (pure Python, cached)

        text = script.normalise(text)
    except Exception:   # pragma: no cover - zhconv missing: compare as written
        pass
    return " ".join(text.split())


def tokens(text: str) -> frozenset[str]:
    """Latin words (without stop words) and Chinese character bigrams of a normalised text."""
    words = {w for w in _WORD.findall(text) if w not in STOP and (len(w) > 1 or w.isdigit())}
    for run in _HAN.findall(text):
        words.update(run[i:i + 2] for i in range(max(1, len(run) - 1)))
    return frozenset(words or {text})


def group_similar(texts: Iterable[str], threshold: float = SIMILARITY) -> list[tuple[str, int, list[str]]]:
    """Groups of similar texts, largest first: (the group's most frequent text, count, members).
    Deterministic: exact normalised forms first, then greedy token-set Jaccard against each
    group's first (most frequent) form."""
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        forms[normalise(text)][text.strip()] += 1
    ordered = sorted(forms.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    groups: list[tuple[frozenset[str], Counter[str]]] = []
    for form, originals in ordered:
        toks = tokens(form)
        for head, members in groups:
            if len(head & toks) / max(1, len(head | toks)) >= threshold:
                members.update(originals)
                break
        else:
            groups.append((toks, Counter(originals)))
    out = [(members.most_common(1)[0][0], sum(members.values()), sorted(members, key=lambda m: (-members[m], m)))
           for _, members in groups]
    return sorted(out, key=lambda g: (-g[1], g[0]))


# ---------------------------------------------------------------------------------------------
# the report


def parse_since(value: str | float | None, now: float | None = None) -> float:
    """``7d``, ``24h``, ``90m``, ``2w``, a date (``2026-12-01``, UTC) or ISO time, ``all``, or epoch seconds."""
    now = time.time() if now is None else now
    if value is None or value == "":
        return now - 7 * 86400
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text.lower() == "all":
        return 0.0
    m = _DURATION.match(text)
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2).lower()]
    try:
        return float(text) if re.fullmatch(r"\d{9,}(\.\d+)?", text) else _iso(text)
    except ValueError:
        raise InsightsError(f"--since {text!r}: use e.g. 7d, 24h, 90m, 2w, all or a date like 2026-12-01") from None


def _iso(text: str) -> float:
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Report:
    since: str
    until: str
    store: str
    texts: bool
    conversations: int
    messages: int
    outcomes: dict[str, int]
    declined: list[dict[str, Any]]
    ratings: dict[str, Any]
    days: list[dict[str, Any]] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    cited: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    follow_ups: dict[str, Any] = field(default_factory=dict)
    refused: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build(turn_list: list[Turn], since: float, now: float, texts: bool = True, text_since: float = 0.0,
          store: str = "") -> Report:
    """The report over the turns at or after ``since``. Texts only when ``texts`` and the
    message is at or after ``text_since``."""
    ts = [t for t in turn_list if since <= t.time <= now + 60]

    def shown(t: Turn, text: str | None = None) -> str | None:
        return (text if text is not None else t.text) if texts and t.time >= text_since else None

    outcomes = Counter({k: 0 for k in OUTCOMES})
    outcomes.update(t.outcome for t in ts)
    per_day: dict[str, tuple[set[str], Counter[str], Counter[str]]] = {}
    for t in ts:
        day = datetime.fromtimestamp(t.time, timezone.utc).date().isoformat()
        senders, langs, channels = per_day.setdefault(day, (set(), Counter(), Counter()))
        senders.add(t.sender)
        langs[t.lang] += 1
        channels[t.channel] += 1
    days = [{"date": d, "conversations": len(s), "messages": sum(lg.values()), "languages": dict(lg.most_common()),
             "channels": dict(ch.most_common())} for d, (s, lg, ch) in sorted(per_day.items())]

    declined_turns = [t for t in ts if t.outcome == "no_answer"]
    visible = [t for t in declined_turns if shown(t) is not None and t.text.strip()]
    declined = [{"text": text, "count": count, "variants": members[1:6]}
                for text, count, members in group_similar(t.text for t in visible)]
    hidden = len(declined_turns) - len(visible)
    if hidden:
        declined.append({"text": None, "count": hidden, "variants": []})

    # what each conversation was shown: passage id -> citation (for the rated answers)
    cite_of: dict[str, str] = {}
    documents: Counter[str] = Counter()
    doc_meta: dict[str, dict[str, str]] = {}
    paragraphs: Counter[str] = Counter()
    follow_by: Counter[str] = Counter()
    rated: list[dict[str, Any]] = []
    last_question: dict[str, Turn] = {}
    up = down = 0
    for t in sorted(ts, key=lambda t: (t.sender, t.time)):
        p = t.payload or {}
        if t.is_rating:
            if t.rating == "up":
                up += 1
            elif t.rating == "down":
                down += 1
            ids = [str(i) for i in p.get("rated") or [] if isinstance(i, (str, int))]
            asked = last_question.get(t.sender)
            question = p.get("rated_query") or (asked.text if asked else "")
            rated.append({"rating": t.rating or "", "time": _stamp(t.time), "lang": t.lang,
                          "question": shown(asked or t, str(question)) if question else None,
                          "citations": [{"id": i, "citation": cite_of.get(i, "")} for i in ids]})
            continue
        if t.outcome == "answer":
            last_question[t.sender] = t
            for c in p.get("citations") or []:
                if not isinstance(c, dict) or not c.get("id"):
                    continue
                cid = str(c["id"])
                cite_of[cid] = str(c.get("citation") or cid)
                paragraphs[cid] += 1
                doc = str(c.get("doc_id") or cid.split(":", 1)[0])
                documents[doc] += 1
                doc_meta.setdefault(doc, {"symbol": str(c.get("doc_symbol") or ""),
                                          "title": str(c.get("doc_title") or "")})
        if t.follow_up:
            follow_by[t.follow_up] += 1
    asked = sum(1 for t in ts if not t.is_rating)
    follow = sum(follow_by.values())
    return Report(
        since=_stamp(since), until=_stamp(now), store=store, texts=texts,
        conversations=len({t.sender for t in ts}), messages=len(ts),
        outcomes={k: outcomes[k] for k in OUTCOMES}, declined=declined,
        ratings={"up": up, "down": down, "rated": rated[-100:]},
        days=days,
        languages=dict(Counter(t.lang for t in ts).most_common()),
        channels=dict(Counter(t.channel for t in ts).most_common()),
        cited={"documents": [{"doc_id": d, "count": n, **doc_meta.get(d, {})} for d, n in documents.most_common(TOP)],
               "paragraphs": [{"id": i, "citation": cite_of.get(i, i), "count": n}
                              for i, n in paragraphs.most_common(TOP)]},
        follow_ups={"turns": follow, "share": round(follow / asked, 3) if asked else 0.0,
                    "by": dict(follow_by.most_common())},
        refused=outcomes["refusal"],
    )


def report(url: str | None = None, since: str | float | None = "7d", texts: bool = True,
           settings: config.Settings | None = None, now: float | None = None) -> Report:
    """The insights report of a tracker store (default: the one ``make start`` uses)."""
    settings = settings or config.settings()
    now = time.time() if now is None else now
    start = parse_since(since, now)
    url = url or settings.insights_db or trackerdb.default_url()
    text_since = now - settings.insights_retention_days * 86400
    try:
        turn_list = turns(trackerdb.rows(url, start))
    except trackerdb.TrackerDBError as exc:
        raise InsightsError(str(exc)) from None
    return build(turn_list, start, now, texts=texts and settings.insights_texts, text_since=text_since,
                 store=trackerdb.describe(url))


def room(url: str | None = None, since: float = 0.0, texts: bool = False, settings: config.Settings | None = None,
         now: float | None = None, limit: int = 100) -> dict[str, Any]:
    """The room's questions since ``since`` (the presenter's 'Reset all'), newest last, with how
    each was answered: time, language, outcome, follow-up move; the text only with ``texts``
    (a token holder, texts on, within the retention window). No sender ids; 👍/👎 turns are
    counted under ``ratings``, not listed."""
    settings = settings or config.settings()
    now = time.time() if now is None else now
    since = max(float(since or 0.0), now - 2 * 86400)   # a room is a session, not the archive
    url = url or settings.insights_db or trackerdb.default_url()
    text_since = now - settings.insights_retention_days * 86400
    try:
        turn_list = [t for t in turns(trackerdb.rows(url, since)) if t.time >= since]
    except trackerdb.TrackerDBError as exc:
        raise InsightsError(str(exc)) from None
    texts = texts and settings.insights_texts
    questions = [t for t in turn_list if not t.is_rating]
    questions.sort(key=lambda t: t.time)
    ratings = Counter(t.rating for t in turn_list if t.is_rating and t.rating)
    out = [{"time": _stamp(t.time), "lang": t.lang, "outcome": t.outcome,
            "follow_up": bool(t.follow_up),
            **({"text": t.text} if texts and t.time >= text_since else {})}
           for t in questions[-limit:]]
    counts = Counter({k: 0 for k in OUTCOMES})
    counts.update(t.outcome for t in questions)
    return {"since": _stamp(since), "texts": texts, "total": len(questions), "outcomes": dict(counts),
            "ratings": {"up": ratings["up"], "down": ratings["down"]},
            "conversations": len({t.sender for t in turn_list}), "questions": out}


# ---------------------------------------------------------------------------------------------
# output


def to_table(r: Report) -> str:
    """The report for a terminal."""
    lines = [f"Insights {r.since} .. {r.until} ({r.store})",
             f"conversations {r.conversations}   messages {r.messages}", "", "outcomes:"]
    lines += [f"  {k:<10} {v:>6}" for k, v in r.outcomes.items()]
    if r.days:
        lines += ["", "per day (UTC):       conversations  messages  by language; by channel"]
        lines += [f"  {d['date']}          {d['conversations']:>6}    {d['messages']:>6}  "
                  + ", ".join(f"{k} {v}" for k, v in d["languages"].items()) + "; "
                  + ", ".join(f"{k} {v}" for k, v in d["channels"].items()) for d in r.days]
    for title, counts in (("languages", r.languages), ("channels", r.channels)):
        if counts:
            lines += ["", f"{title}:"] + [f"  {k:<10} {v:>6}" for k, v in counts.items()]
    lines += ["", "declined questions (no answer in the documents), grouped:"]
    lines += [f"  {d['count']:>4}  {d['text'] if d['text'] is not None else '(texts hidden)'}" for d in r.declined] or ["  none"]
    lines += ["", f"ratings: up {r.ratings['up']}  down {r.ratings['down']}"]
    for item in r.ratings["rated"]:
        mark = {"up": "+", "down": "-"}.get(item["rating"], "?")
        cites = "; ".join(c["citation"] or c["id"] for c in item["citations"]) or "no citation"
        lines.append(f"  {mark} {item['question'] if item['question'] is not None else '(text hidden)'} -> {cites}")
    lines += ["", "most cited documents:"]
    lines += [f"  {d['count']:>4}  {d.get('symbol') or d['doc_id']}  {d.get('title', '')}".rstrip()
              for d in r.cited.get("documents", [])] or ["  none"]
    lines += ["", "most cited paragraphs:"]
    lines += [f"  {p['count']:>4}  {p['citation']}" for p in r.cited.get("paragraphs", [])] or ["  none"]
    f = r.follow_ups
    lines += ["", f"follow-ups: {f.get('turns', 0)} ({f.get('share', 0):.0%} of messages, ratings aside)"
              + ("  " + ", ".join(f"{m} {n}" for m, n in f.get("by", {}).items()) if f.get("by") else "")]
    return "\n".join(lines) + "\n"


def to_csv(r: Report) -> str:
    """One row per figure: section, key, count, detail."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "count", "detail"])
    w.writerow(["total", "conversations", r.conversations, f"{r.since}..{r.until}"])
    w.writerow(["total", "messages", r.messages, ""])
    for k, v in r.outcomes.items():
        w.writerow(["outcome", k, v, ""])
    for d in r.days:
        w.writerow(["day", d["date"], d["messages"], f"conversations={d['conversations']}"])
        for k, v in d["languages"].items():
            w.writerow(["day_language", f"{d['date']} {k}", v, ""])
        for k, v in d["channels"].items():
            w.writerow(["day_channel", f"{d['date']} {k}", v, ""])
    for k, v in r.languages.items():
        w.writerow(["language", k, v, ""])
    for k, v in r.channels.items():
        w.writerow(["channel", k, v, ""])
    for d in r.declined:
        w.writerow(["declined", d["text"] if d["text"] is not None else "", d["count"], ""])
    w.writerow(["rating", "up", r.ratings["up"], ""])
    w.writerow(["rating", "down", r.ratings["down"], ""])
    for item in r.ratings["rated"]:
        w.writerow(["rated", item["rating"], 1, " | ".join([item["question"] or ""] +
                                                           [c["citation"] or c["id"] for c in item["citations"]])])
    for d in r.cited.get("documents", []):
        w.writerow(["cited_document", d.get("symbol") or d["doc_id"], d["count"], d.get("title", "")])
    for p in r.cited.get("paragraphs", []):
        w.writerow(["cited_paragraph", p["id"], p["count"], p["citation"]])
    for m, n in r.follow_ups.get("by", {}).items():
        w.writerow(["follow_up", m, n, ""])
    return buf.getvalue()
