"""When the action server cannot be reached, say so instead of staying silent.

Rasa 3.6 logs a failed custom action and sends the user nothing. This wraps
``RemoteAction.run`` so that a connection failure (or a server error) produces the
``unavailable`` reply of data/replies.yml in the user's language (slot ``lang``); the next
message tries the action server again, so the conversation recovers as soon as it is back.
"""

from __future__ import annotations

import logging
from typing import Any, List

from functools import lru_cache
from pathlib import Path

import yaml
from rasa.core.actions import action as rasa_action
from rasa.shared.exceptions import RasaException

log = logging.getLogger(__name__)
_REPLIES = Path(__file__).resolve().parent.parent / "data" / "replies.yml"


@lru_cache(maxsize=1)
def _texts() -> dict:
    data = yaml.safe_load(_REPLIES.read_text(encoding="utf-8"))
    return {lang: data[lang]["unavailable"] for lang in ("en", "zh")}


async def _run_or_apologise(self: rasa_action.RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
                            domain: Any) -> List[Any]:
    try:
        return await _original_run(self, output_channel, nlg, tracker, domain)
    except rasa_action.ActionExecutionRejection:
        raise
    except RasaException as exc:
        log.error("custom action %s unavailable: %s", self.name(), exc)
        lang = "zh" if tracker.get_slot("lang") == "zh" else "en"
        return [rasa_action.create_bot_utterance({"text": _texts()[lang]})]


_original_run = rasa_action.RemoteAction.run
if getattr(_original_run, "__name__", "") != "_run_or_apologise":
    rasa_action.RemoteAction.run = _run_or_apologise  # type: ignore[method-assign]
