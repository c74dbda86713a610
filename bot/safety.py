"""Safety replies, and the guarded entry point every message to the documents goes through.

``handle`` runs the guard (``bot/guard.py``) before any search: a refusal (kind ``refusal``,
no citations), a referral to help (kind ``support``) or the answer from ``bot/answers.py``.
The CLI (``bot ask``), the Rasa actions and the tests all call it; an answer goes through the
dialogue stage (``bot/dialogue.py``), which reads the message in its conversation. Reply text comes from
``data/safety.yml`` and ``data/help_resources.yml`` (``bot/texts.py``).
"""

from __future__ import annotations

import logging

from bot import dialogue, followup, guard, lang as lang_mod, query, script
from bot.conversation import Context
from bot.reply import Button, Reply
from bot.resources import Resources
from bot.texts import Texts


log = logging.getLogger(__name__)


def refusal(texts: Texts, lang: str, category: str | None = None) -> Reply:
    """Short, non-judgmental refusal with an offer of the policy angle (a button)."""
    table = texts.safety_table(lang)
    offer = table["policy_offers"].get(category or "", table["policy_offers"]["default"])
    return Reply("refusal", lang, f"{table['refusal']}\n{offer['text']}",
                 buttons=[Button(offer["button"], offer["question"])], data={"category": category or ""})


def support(texts: Texts, lang: str, need: str | None = None) -> Reply:
    """Referral to real help: emergency numbers, reporting hotlines, image-removal services."""
    data = texts.help
    key = "zh" if lang == "zh" else "en"
    table = texts.safety_table(lang)
    lines = [table["support_lead"], data["emergency"][key], ""]
    resources = []
    for r in data["resources"]:
        if need and need != "reporting" and need not in r["covers"] and "general" not in r["covers"]:
            continue
        lines.append(f"• {r['name']}: {r['contact']} — {r[key]}")
        resources.append({"id": r["id"], "name": r["name"], "contact": r["contact"], "description": r[key]})
    if need in (None, "", "child_exploitation", "intimate_images", "reporting"):
        lines += ["", data["do_not_forward"][key]]
    return Reply("support", lang, "\n".join(lines),
                 data={"resources": resources, "checked": data["checked"], "need": need or ""})


def handle(engine: Resources, text: str, ctx: Context | None = None, history: list[str] | None = None,
           doc: str | None = None, intent: str | None = None, confidence: float = 0.0) -> Reply:
    """The reply to a message for the documents: guard first, then search.

    ``history`` holds the user's earlier messages (newest last), so a request split over two
    messages is judged whole; ``intent``/``confidence`` are Rasa's NLU result, the guard's
    third signal. The verdict's reasons (no message text) go to the log at debug level.
    """
    ctx = ctx or Context()
    text = query.spoken(text)   # "/ask_documents{...}" is judged and searched by its words
    history = [query.spoken(h) for h in history or []]
    lang = lang_mod.reply_lang(text, ctx.lang)
    if ctx.last_kind == "refusal" and not followup.cues(script.normalise(text or "")).leans_back:
        history = []   # a new question after a refusal is judged on its own merits, not the refused one's
    verdict = engine.guard.check(text, history=history, intent=intent, confidence=confidence)
    log.debug("guard: %s (%s)", verdict.decision, "; ".join(verdict.signals))
    if verdict.decision == guard.REFUSE:
        reply = refusal(engine.texts, lang, verdict.category)
    elif verdict.decision == guard.SUPPORT:
        reply = support(engine.texts, lang, verdict.need)
    else:
        reply = dialogue.respond(engine, text, ctx, doc=doc)
    return dialogue.reply_in_script(reply, dialogue.script_of(text, ctx.script))
