"""Channel rendering stage: a typed reply laid out for the channel that asked.

The web layout (``web_text``) is the reply's ``text``: Markdown-light, ``>`` quotes with the
best sentence in ``**``, a source line per passage and the disclaimer. Web clients (REST,
socket.io, callback) receive it with the reply's payload and render from the payload.
Messengers cannot: Telegram, Slack, Microsoft Teams (Bot Framework) and Mattermost each get
their own markup with correct escaping, the quoted passages with the best sentence in bold,
every citation (a link where the channel allows one), the disclaimer set off, the buttons as
the channel's quick replies, and long answers split under the channel's limit. Any other Rasa
channel gets plain text and Rasa's own button handling.

``messages`` returns keyword dicts for ``CollectingDispatcher.utter_message``; the custom
(``json_message``) form is what Rasa's stock output channels pass to the platform API as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable
from urllib.parse import quote

from bot.reply import Citation, Quote, Reply

WEB_CHANNELS = frozenset({"", "rest", "socketio", "callback", "cmdline", "rasa", "inspector"})
MESSENGERS = ("telegram", "slack", "botframework", "mattermost")

# Message limits (characters; Telegram counts UTF-16 code units).
TELEGRAM_LIMIT = 4096          # sendMessage text
TELEGRAM_CALLBACK_BYTES = 64   # inline button callback_data
SLACK_TEXT_LIMIT = 3000        # one section / context text object
SLACK_MAX_BLOCKS = 50          # blocks per message
SLACK_BUTTON_TITLE = 75
SLACK_BUTTON_VALUE = 2000
SLACK_MAX_BUTTONS = 25         # elements of one actions block
TEAMS_LIMIT = 4000             # Teams caps an activity at ~28 KB; CJK is 6 bytes per char once JSON-escaped
MATTERMOST_LIMIT = 4000        # posts: 16383 on current servers, 4000 on servers with the old schema
PLAIN_LIMIT = 4000


@dataclass(frozen=True)
class Span:
    """A run of text with one style."""

    text: str
    bold: bool = False
    italic: bool = False
    url: str = ""


@dataclass(frozen=True)
class Block:
    """A paragraph of the reply: the lead, a quoted passage, a citation, the disclaimer, ..."""

    spans: tuple[Span, ...]
    kind: str = "text"  # text | quote | note (translation label) | source | notes | disclaimer

    @property
    def plain(self) -> str:
        return "".join(s.text for s in self.spans)


# --------------------------------------------------------------------------------------
# reply -> blocks


def citation_link(citation: Citation, public_url: str = "") -> str:
    """The citation's link: the project's paragraph viewer when the public address of the web
    page is set (``PUBLIC_WEB_URL``), else the original document (UN symbol or DOI), else none."""
    if public_url and citation.id:
        return f"{public_url.rstrip('/')}/?p={quote(citation.id, safe=':')}"
    return citation.url


def quote_spans(q: Quote) -> tuple[Span, ...]:
    """The excerpt as spans, its highlighted sentence(s) bold, "…" where it was cut."""
    text = q.excerpt or q.passage.text
    spans: list[Span] = []
    pos = 0
    for start, end in sorted(q.excerpt_highlights):
        if start < pos or end > len(text) or start >= end:
            continue
        if start > pos:
            spans.append(Span(text[pos:start]))
        spans.append(Span(text[start:end], bold=True))
        pos = end
    if pos < len(text):
        spans.append(Span(text[pos:]))
    if q.truncated:
        full = q.shown_text
        if not full.startswith(text):
            spans.insert(0, Span("…"))
        if not full.endswith(text):
            spans.append(Span("…"))
    return tuple(spans)


def _source_block(reply: Reply, q: Quote, public_url: str) -> Block:
    before, after = reply.source_label
    cite = next((c for c in reply.citations if c.id == q.id), None)
    link = citation_link(cite, public_url) if cite is not None else ""
    return Block((Span(before), Span(cite.citation if cite is not None else q.citation, url=link), Span(after)),
                 kind="source")


def notes_text(reply: Reply) -> str:
    """The footnotes of passages shown in full, one per line."""
    return "\n".join(f"[{n.number}] {n.shown or n.text}" for q in reply.quotes for n in q.notes)


def blocks(reply: Reply, public_url: str = "") -> list[Block]:
    """The reply as styled blocks."""
    if reply.kind == "answer" and reply.quotes:
        out = [Block((Span(reply.lead or reply.text.split("\n\n", 1)[0]),))]
        for q in reply.quotes:
            out.append(Block(quote_spans(q), kind="quote"))
            if q.translation_note:   # "Unofficial translation ..." / "no translation available"
                out.append(Block((Span(q.translation_note, italic=True),), kind="note"))
            out.append(_source_block(reply, q, public_url))
        if reply.full and notes_text(reply):
            out.append(Block((Span(notes_text(reply)),), kind="notes"))
        if reply.disclaimer:
            out.append(Block((Span(reply.disclaimer, italic=True),), kind="disclaimer"))
        return [b for b in out if b.plain.strip()]
    parts = [part.strip("\n") for part in re.split(r"\n\s*\n", reply.text)]
    out = [Block((Span(part),)) for part in parts if part.strip()]
    if reply.disclaimer and reply.disclaimer not in reply.text:
        out.append(Block((Span(reply.disclaimer, italic=True),), kind="disclaimer"))
    return out


def _web_bold(text: str) -> str:
    """``**`` around a highlighted sentence, its surrounding whitespace left outside."""
    core = text.strip()
    if not core:
        return text
    lead = len(text) - len(text.lstrip())
    return text[:lead] + "**" + core + "**" + text[lead + len(core):]


def web_text(reply: Reply) -> str:
    """The web layout of an answer: the lead, each quote (``>`` lines, best sentence in ``**``)
    with its translation note and source line, the footnotes of full paragraphs, the disclaimer.
    Other replies are their own text."""
    if reply.kind != "answer" or not reply.quotes:
        return reply.text
    passages = []
    for q in reply.quotes:
        body = "".join(_web_bold(s.text) if s.bold else s.text for s in quote_spans(q))
        quoted = "\n".join("> " + line if line else ">" for line in body.split("\n"))
        note = f"({q.translation_note})\n" if q.translation_note else ""
        passages.append(f"{quoted}\n{note}{reply.source_line(q)}")
    body = "\n\n".join(passages)
    if reply.full and notes_text(reply):
        body += "\n\n" + notes_text(reply)
    return f"{reply.lead}\n\n{body}\n\n{reply.disclaimer}"


# --------------------------------------------------------------------------------------
# splitting

_SENTENCE = re.compile(r"(?<=[。！？；!?;])|(?<=[.!?])\s+|\n")


def _atoms(block: Block) -> list[Span]:
    """The block's spans cut at sentence ends (the smallest pieces a long block is split into)."""
    out: list[Span] = []
    for span in block.spans:
        pos = 0
        for m in _SENTENCE.finditer(span.text):
            if m.end() > pos:
                out.append(replace(span, text=span.text[pos:m.end()]))
                pos = m.end()
        if pos < len(span.text):
            out.append(replace(span, text=span.text[pos:]))
    return [a for a in out if a.text]


def split_block(block: Block, fits: Callable[[Block], bool]) -> list[Block]:
    """``block`` as one or more blocks that each ``fits``: cut between sentences, and inside a
    sentence only when one sentence alone is too long."""
    if fits(block):
        return [block]
    pieces: list[Block] = []
    current: list[Span] = []
    for atom in _atoms(block):
        if fits(Block(tuple(current + [atom]), block.kind)):
            current.append(atom)
            continue
        if current:
            pieces.append(Block(tuple(current), block.kind))
            current = []
        if fits(Block((atom,), block.kind)):
            current = [atom]
            continue
        text = atom.text
        while text:  # one sentence longer than the limit: the longest prefix that fits
            lo, hi = 1, len(text)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if fits(Block((replace(atom, text=text[:mid]),), block.kind)):
                    lo = mid
                else:
                    hi = mid - 1
            pieces.append(Block((replace(atom, text=text[:lo]),), block.kind))
            text = text[lo:]
    if current:
        pieces.append(Block(tuple(current), block.kind))
    return pieces


def pack(rendered: list[str], limit: int, length: Callable[[str], int] = len, sep: str = "\n\n") -> list[str]:
    """Rendered blocks joined into as few messages as fit under ``limit``."""
    chunks: list[str] = []
    current = ""
    for r in rendered:
        candidate = f"{current}{sep}{r}" if current else r
        if length(candidate) <= limit:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = r
    if current:
        chunks.append(current)
    return chunks


# --------------------------------------------------------------------------------------
# markup per channel

_EDGE = re.compile(r"^([\s\W_]*)(.*?)([\s\W_]*)$", re.S)


def _styled(text: str, open_: str, close: str, esc: Callable[[str], str]) -> str:
    """``text`` between markers, with edge spaces and punctuation moved outside them (Markdown
    only closes emphasis after punctuation when whitespace follows, which Chinese never has)."""
    m = _EDGE.match(text)
    assert m is not None
    lead, core, trail = m.groups()
    if not core:
        return esc(text)
    return f"{esc(lead)}{open_}{esc(core)}{close}{esc(trail)}"


class Markup:
    """One channel's markup: escaping, emphasis, links and quotes."""

    bold = ("**", "**")
    italic = ("*", "*")
    quote_prefix = "> "

    def escape(self, text: str) -> str:
        return text

    def link(self, text: str, url: str) -> str:
        return f"{self.escape(text)} ({url})"

    def length(self, text: str) -> int:
        return len(text)

    def span(self, s: Span) -> str:
        if s.url and s.text:
            out = self.link(s.text, s.url)
        elif s.bold:
            out = _styled(s.text, *self.bold, self.escape)
        elif s.italic:
            out = _styled(s.text, *self.italic, self.escape)
        else:
            out = self.escape(s.text)
        return out

    def block(self, b: Block) -> str:
        body = "".join(self.span(s) for s in b.spans)
        if b.kind == "quote":
            return "\n".join(self.quote_prefix + line for line in body.split("\n") if line.strip())
        return body


class Plain(Markup):
    """Channels without markup: no escaping needed; highlights and quotes by plain characters."""

    bold = ("", "")
    italic = ("", "")


class TelegramMarkdownV2(Markup):
    """Telegram MarkdownV2: every reserved character escaped; blockquotes are '>' lines."""

    bold = ("*", "*")
    italic = ("_", "_")
    quote_prefix = ">"
    _RESERVED = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")

    def escape(self, text: str) -> str:
        return self._RESERVED.sub(r"\\\1", text)

    def link(self, text: str, url: str) -> str:
        target = re.sub(r"([)\\])", r"\\\1", url)
        return f"[{self.escape(text)}]({target})"

    def length(self, text: str) -> int:
        return len(text.encode("utf-16-le")) // 2


class SlackMrkdwn(Markup):
    """Slack mrkdwn: &, < and > as entities; formatting characters in the text cannot be
    escaped, so a zero-width space keeps them from pairing up."""

    bold = ("*", "*")
    italic = ("_", "_")
    quote_prefix = ">"

    def escape(self, text: str) -> str:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return re.sub(r"([*_~`])", "\u200b\\1\u200b", text)

    def link(self, text: str, url: str) -> str:
        return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{self.escape(text.replace('|', '¦'))}>"


class Markdown(Markup):
    """Markdown as Mattermost and Teams render it: punctuation that would start markup escaped."""

    _SPECIAL = re.compile(r"([\\`*_\[\]<>#~|])")

    def escape(self, text: str) -> str:
        return self._SPECIAL.sub(r"\\\1", text)

    def link(self, text: str, url: str) -> str:
        return f"[{self.escape(text)}]({url.replace(')', '%29').replace(' ', '%20')})"


def render_blocks(bs: list[Block], markup: Markup, limit: int) -> list[str]:
    """Each block rendered, long ones split so every piece fits ``limit``."""
    out: list[str] = []
    for b in bs:
        for piece in split_block(b, lambda x: markup.length(markup.block(x)) <= limit):
            out.append(markup.block(piece))
    return out


# --------------------------------------------------------------------------------------
# messages per channel


def _buttons(reply: Reply) -> list[dict[str, str]]:
    return [{"title": b.title or b.payload, "payload": b.payload or b.title} for b in reply.buttons
            if b.payload or b.title]


def telegram_keyboard(buttons: list[dict[str, str]]) -> dict[str, Any] | None:
    """Inline buttons when every payload fits Telegram's 64-byte callback data; otherwise a
    one-time reply keyboard whose buttons send the question itself (or the title)."""
    if not buttons:
        return None
    if all(len(b["payload"].encode("utf-8")) <= TELEGRAM_CALLBACK_BYTES for b in buttons):
        rows: list[list[dict[str, str]]] = []
        small: list[dict[str, str]] = []
        for b in buttons:
            button = {"text": b["title"], "callback_data": b["payload"]}
            if len(b["title"]) <= 3:  # 👍 / 👎 side by side
                small.append(button)
            else:
                rows.append([button])
        if small:
            rows.append(small)
        return {"inline_keyboard": rows}
    keys = [[{"text": b["title"] if b["payload"].startswith("/") else b["payload"]}] for b in buttons]
    return {"keyboard": keys, "one_time_keyboard": True, "resize_keyboard": True}


def telegram(reply: Reply, public_url: str = "") -> list[dict[str, Any]]:
    markup = TelegramMarkdownV2()
    chunks = pack(render_blocks(blocks(reply, public_url), markup, TELEGRAM_LIMIT), TELEGRAM_LIMIT, markup.length)
    keyboard = telegram_keyboard(_buttons(reply))
    out = []
    for i, chunk in enumerate(chunks):
        msg: dict[str, Any] = {"text": chunk, "parse_mode": "MarkdownV2", "disable_web_page_preview": True}
        if keyboard and i == len(chunks) - 1:
            msg["reply_markup"] = keyboard
        out.append({"json_message": msg})
    return out


def slack(reply: Reply, public_url: str = "") -> list[dict[str, Any]]:
    markup = SlackMrkdwn()
    bs = blocks(reply, public_url)
    sections: list[dict[str, Any]] = []
    for b in bs:
        for piece in render_blocks([b], markup, SLACK_TEXT_LIMIT):
            text = {"type": "mrkdwn", "text": piece}
            sections.append({"type": "context", "elements": [text]} if b.kind in ("disclaimer", "note")
                            else {"type": "section", "text": text})
    buttons = _buttons(reply)[:SLACK_MAX_BUTTONS]
    actions = {"type": "actions", "elements": [
        {"type": "button", "action_id": f"pa-button-{i}",
         "text": {"type": "plain_text", "text": b["title"][:SLACK_BUTTON_TITLE], "emoji": True},
         "value": b["payload"][:SLACK_BUTTON_VALUE]} for i, b in enumerate(buttons)]} if buttons else None
    per_message = SLACK_MAX_BLOCKS - 1
    groups = [sections[i:i + per_message] for i in range(0, len(sections), per_message)] or [[]]
    fallback = bs[0].plain if bs else ""
    out = []
    for i, group in enumerate(groups):
        bl = list(group) + ([actions] if actions and i == len(groups) - 1 else [])
        out.append({"json_message": {"text": fallback[:SLACK_TEXT_LIMIT], "blocks": bl}})
    return out


def botframework(reply: Reply, public_url: str = "") -> list[dict[str, Any]]:
    markup = Markdown()
    chunks = pack(render_blocks(blocks(reply, public_url), markup, TEAMS_LIMIT), TEAMS_LIMIT)
    buttons = _buttons(reply)
    out = []
    for i, chunk in enumerate(chunks):
        msg: dict[str, Any] = {"text": chunk, "textFormat": "markdown"}
        if buttons and i == len(chunks) - 1:
            msg["attachments"] = [{"contentType": "application/vnd.microsoft.card.hero", "content": {"buttons": [
                {"type": "messageBack", "title": b["title"], "text": b["payload"], "displayText": b["title"]}
                for b in buttons]}}]
        out.append({"json_message": msg})
    return out


def mattermost(reply: Reply, public_url: str = "") -> list[dict[str, Any]]:
    markup = Markdown()
    chunks = pack(render_blocks(blocks(reply, public_url), markup, MATTERMOST_LIMIT), MATTERMOST_LIMIT)
    buttons = _buttons(reply)
    out: list[dict[str, Any]] = [{"json_message": {"message": c}} for c in chunks]
    if buttons and out:  # Rasa's Mattermost output turns text + buttons into interactive buttons
        out[-1] = {"text": chunks[-1], "buttons": buttons}
    return out


def plain(reply: Reply, public_url: str = "") -> list[dict[str, Any]]:
    markup = Plain()
    chunks = pack(render_blocks(blocks(reply, public_url), markup, PLAIN_LIMIT), PLAIN_LIMIT)
    out: list[dict[str, Any]] = [{"text": c} for c in chunks]
    buttons = _buttons(reply)
    if buttons and out:
        out[-1]["buttons"] = buttons
    return out


RENDERERS: dict[str, Callable[[Reply, str], list[dict[str, Any]]]] = {
    "telegram": telegram, "slack": slack, "botframework": botframework, "mattermost": mattermost,
}


def messages(reply: Reply, channel: str | None, public_url: str = "") -> list[dict[str, Any]]:
    """What the action sends on ``channel`` (Rasa's input channel name) for ``reply``."""
    name = (channel or "").lower()
    if name in WEB_CHANNELS:
        payload = reply.to_payload()
        return [{"text": payload["text"], "buttons": payload["buttons"], "json_message": payload}]
    return RENDERERS.get(name, plain)(reply, public_url)
