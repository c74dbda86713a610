"""NLU component that tags each message with its language (entity ``language``: en or zh).

The ``lang`` slot maps from this entity, so responses and actions answer in the user's
language from the first turn. Same rule as bot/language.detect_lang: Chinese characters vs
Latin words; a mixed message is tagged by whichever dominates.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect(text: str) -> Optional[str]:
    """``en``, ``zh``, or None when the text has neither Chinese nor Latin words."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if not cjk and not latin:
        return None
    return "zh" if cjk >= latin else "en"


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
