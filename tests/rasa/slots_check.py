"""Run ``action_extract_slots`` on messages written in Rasa's intent syntax, with the
project's patches installed or not (``--plain``); prints the slots set, as JSON."""

from __future__ import annotations

import asyncio
import json
import sys

from rasa.core.actions.action import ActionExtractSlots
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_addons import patches

MESSAGES = {
    "markup_rating": ("feedback", {"rating": "<b>Jane Roe</b>"}),
    "valid_rating": ("feedback", {"rating": "up"}),
    "unknown_rating": ("feedback", {"rating": "maybe"}),
    "huge_topic": ("ask_documents", {"topic": "x" * 5000}),
    "markup_topic": ("ask_documents", {"topic": "<script>alert(1)</script>"}),
    "valid_topic": ("ask_documents", {"topic": "3D-printed guns"}),
    "object_document": ("filter_document", {"document": {"nested": "value"}}),
}


async def main() -> None:
    if "--plain" not in sys.argv:
        patches.install()
    domain = Domain.load("domain.yml")
    out = {}
    for name, (intent, entities) in MESSAGES.items():
        tracker = DialogueStateTracker.from_events(name, [UserUttered(
            "/" + intent + json.dumps(entities), intent={"name": intent, "confidence": 1.0},
            entities=[{"entity": k, "value": v, "start": 0, "end": 1} for k, v in entities.items()])], domain.slots)
        events = await ActionExtractSlots(None).run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
                                                    tracker, domain)
        out[name] = {e.key: e.value for e in events if isinstance(e, SlotSet)}
    print(json.dumps(out))


asyncio.run(main())
