"""When the action server cannot be reached, say so instead of staying silent.

Rasa 3.6 logs a failed custom action and sends the user nothing. This wraps
``RemoteAction.run`` so that a connection failure (or a server error) produces the
``unavailable`` reply of data/replies.yml in the user's language (slot ``lang``); the next
message tries the action server again, so the conversation recovers as soon as it is back.
"""

from __future__ import annotations

import logging
from typing import Any, List

from rasa.core.actions import action as rasa_action
from rasa.shared.exceptions import RasaException

from rasa_addons import texts

log = logging.getLogger(__name__)


async def _run_or_apologise(self: rasa_action.RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
                            domain: Any) -> List[Any]:
    try:
        return await _original_run(self, output_channel, nlg, tracker, domain)
    except rasa_action.ActionExecutionRejection:
        raise
    except RasaException as exc:
        log.error("custom action %s unavailable: %s", self.name(), exc)
        return [rasa_action.create_bot_utterance({"text": texts.text("unavailable", tracker.get_slot("lang"))})]


_original_run = rasa_action.RemoteAction.run
if getattr(_original_run, "__name__", "") != "_run_or_apologise":
    rasa_action.RemoteAction.run = _run_or_apologise  # type: ignore[method-assign]
