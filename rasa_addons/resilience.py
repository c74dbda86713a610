"""When the action server cannot be reached, say so instead of staying silent.

Rasa 3.6 logs a failed custom action and sends the user nothing. This wraps
``RemoteAction.run`` so that a connection failure (or a server error) produces the
``unavailable`` reply of data/replies.yml in the user's language (slot ``lang``); the next
message tries the action server again, so the conversation recovers as soon as it is back.
Installed by ``rasa_addons.patches.install``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, List

from rasa.core.actions import action as rasa_action
from rasa.shared.exceptions import RasaException

from bot.config import ROOT
from bot.texts import Texts

log = logging.getLogger(__name__)


def apologise_when_unavailable(run: Callable[..., Awaitable[List[Any]]]) -> Callable[..., Awaitable[List[Any]]]:
    """``RemoteAction.run`` wrapped: a failed call to the action server gives the user the
    ``unavailable`` reply instead of silence."""
    texts = Texts.load(ROOT / "data")

    @functools.wraps(run)
    async def run_or_apologise(self: rasa_action.RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
                               domain: Any) -> List[Any]:
        try:
            return await run(self, output_channel, nlg, tracker, domain)
        except rasa_action.ActionExecutionRejection:
            raise
        except RasaException as exc:
            log.error("custom action %s unavailable: %s", self.name(), exc)
            return [rasa_action.create_bot_utterance({"text": texts.t(tracker.get_slot("lang"), "unavailable")})]

    return run_or_apologise
