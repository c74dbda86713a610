"""Safety replies, and the guarded entry point every message to the documents goes through.

``handle`` runs the guard (``bot/guard.py``) before any search: a refusal (kind ``refusal``,
no citations), a referral to help (kind ``support``) or the answer from ``bot/answers.py``.
The CLI (``bot ask``), the Rasa actions and the tests all call it. Reply text comes from
``data/safety.yml`` and ``data/help_resources.yml``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import yaml

from bot import answers, config, guard, index as index_mod

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    root = config.settings().root / "data"
    return {
        "safety": yaml.safe_load((root / "safety.yml").read_text(encoding="utf-8")),
        "help": yaml.safe_load((root / "help_resources.yml").read_text(encoding="utf-8")),
    }


def refusal(lang: str, category: str | None = None) -> dict[str, Any]:
    """Short, non-judgmental refusal with an offer of the policy angle (a button)."""
    table = _data()["safety"]["zh" if lang == "zh" else "en"]
    offer = table["policy_offers"].get(category or "", table["policy_offers"]["default"])
    text = f"{table['refusal']}\n{offer['text']}"
    buttons = [{"title": offer["button"], "payload": offer["question"]}]
    return answers.payload("refusal", lang, text, buttons=buttons, category=category or "")


def support(lang: str, need: str | None = None) -> dict[str, Any]:
    """Referral to real help: emergency numbers, reporting hotlines, image-removal services."""
    data = _data()["help"]
    key = "zh" if lang == "zh" else "en"
    table = _data()["safety"][key]
    lines = [table["support_lead"], data["emergency"][key], ""]
    resources = []
    for r in data["resources"]:
        if need and need != "reporting" and need not in r["covers"] and "general" not in r["covers"]:
            continue
        lines.append(f"• {r['name']}: {r['contact']} — {r[key]}")
        resources.append({"id": r["id"], "name": r["name"], "contact": r["contact"], "description": r[key]})
    if need in (None, "", "child_exploitation", "intimate_images", "reporting"):
        lines += ["", data["do_not_forward"][key]]
    return answers.payload("support", lang, "\n".join(lines), resources=resources, checked=data["checked"],
                           need=need or "")


def handle(text: str, ctx: answers.Context | None = None, history: list[str] | None = None, doc: str | None = None,
           intent: str | None = None, confidence: float = 0.0, idx: index_mod.Index | None = None) -> dict[str, Any]:
    """The reply to a message for the documents: guard first, then search.

    ``history`` holds the user's earlier messages (newest last), so a request split over two
    messages is judged whole; ``intent``/``confidence`` are Rasa's NLU result, the guard's
    third signal. The verdict's reasons (no message text) go to the log at debug level.
    """
    ctx = ctx or answers.Context()
    lang = answers.reply_lang(text, ctx.lang)
    verdict = guard.check(text, history=history or [], intent=intent, confidence=confidence)
    log.debug("guard: %s (%s)", verdict.decision, "; ".join(verdict.signals))
    if verdict.decision == guard.REFUSE:
        return refusal(lang, verdict.category)
    if verdict.decision == guard.SUPPORT:
        return support(lang, verdict.need)
    return answers.respond(text, ctx, doc=doc, idx=idx)
