"""Safety replies: refusals of operational help with crime, and referrals for people in trouble.

The replies share the answers payload shape (kinds ``refusal`` and ``support``); their text
comes from ``data/safety.yml`` and ``data/help_resources.yml``. Deciding *when* to refuse
is the guard's job (issue #4); here the Rasa intents ``request_harmful`` and ``seek_help``
route to these replies.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot import answers, config


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
        if need and need not in r["covers"] and "general" not in r["covers"]:
            continue
        lines.append(f"• {r['name']}: {r['contact']} — {r[key]}")
        resources.append({"id": r["id"], "name": r["name"], "contact": r["contact"], "description": r[key]})
    lines += ["", data["do_not_forward"][key]]
    return answers.payload("support", lang, "\n".join(lines), resources=resources, checked=data["checked"],
                           need=need or "")


def _first_match(text: str, table: dict[str, list[str]]) -> str | None:
    lowered = (text or "").lower()
    for key, words in table.items():
        if any(w.lower() in lowered for w in words):
            return key
    return None


def category(text: str) -> str | None:
    """Which crime a refused request is about (picks the policy question offered instead)."""
    return _first_match(text, _data()["safety"]["categories"])


def need(text: str) -> str | None:
    """What kind of help a person needs (``intimate_images``, ``child_exploitation``) or None."""
    return _first_match(text, _data()["safety"]["needs"])
