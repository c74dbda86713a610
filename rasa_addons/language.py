"""NLU component that tags each message with its language (entity ``language``: en or zh).

The ``lang`` slot maps from this entity, so responses and actions answer in the user's
language from the first turn. The rule is the project's one (``bot/lang.py``): a message that
is clearly English or Chinese is tagged; a mixed one ("What does 人贩子 mean?") is not, so the
conversation keeps its language, as the action's reply does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import lang


def detect(text: str) -> Optional[str]:
    """``en`` or ``zh`` for a message that is clearly one of them; None for a mixed message
    (the conversation keeps its language) or one without words."""
    found = lang.detect(text) if text.strip() else "mixed"
    return found if found in ("en", "zh") and (lang.CJK.search(text) or lang.LATIN_WORD.search(text)) else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent):
    """Adds ``{"entity": "language", "value": "en"|"zh"}`` to every parsed message."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LanguageDetector":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            lang = detect(text)
            if lang is None:
                continue
            entity = {"entity": "language", "value": lang, "start": 0, "end": len(text),
                      "confidence_entity": 1.0, "extractor": "LanguageDetector"}
            message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
