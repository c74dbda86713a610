"""Intent classifier: a linear SVM over the sentence embedding plus character n-grams.

The multilingual sentence embedding (``USEFeaturizer``) carries the meaning and works
across English and Chinese; TF-IDF weighted character 1–4-grams of the message help the
short utterances an embedding blurs ("cya", "bye bye", "再来"). Rasa's built-in
``SklearnIntentClassifier`` sees only dense features and ``LogisticRegressionClassifier``
uses raw counts with a fixed C; measured in docs/nlu.md, this combination is better on
this data than either.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack

from bot import script
from rasa_addons.textcache import TextCache

log = logging.getLogger(__name__)
_FILE = "hybrid_intent_classifier.joblib"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class HybridIntentClassifier(GraphComponent, IntentClassifier):
    """Linear SVM on [dense sentence features, weighted char n-gram TF-IDF]."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 10.0, "ngram_weight": 0.5, "min_ngram": 1, "max_ngram": 4, "ranking_length": 10}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[Any] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model  # (vectorizer, svm)
        self._cache = TextCache()   # text -> intent probabilities

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "HybridIntentClassifier":
        return cls(config, model_storage, resource)

    def _matrix(self, messages: List[Message], vectorizer: Any) -> Any:
        dense = []
        for m in messages:
            _, sentence = m.get_dense_features(TEXT)
            if sentence is None:
                raise ValueError("HybridIntentClassifier needs dense sentence features (add USEFeaturizer)")
            dense.append(sentence.features.reshape(-1))
        grams = vectorizer.transform([script.normalise(m.get(TEXT) or "").lower() for m in messages])
        return hstack([csr_matrix(np.vstack(dense)), self.config["ngram_weight"] * grams]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import SVC

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        vectorizer = TfidfVectorizer(analyzer="char_wb", sublinear_tf=True,
                                     ngram_range=(self.config["min_ngram"], self.config["max_ngram"]))
        vectorizer.fit([script.normalise(e.get(TEXT) or "").lower() for e in examples])
        svm = SVC(C=self.config["C"], kernel="linear", probability=True, random_state=42)
        svm.fit(self._matrix(examples, vectorizer), [e.get(INTENT) for e in examples])
        self._model = (vectorizer, svm)
        self._cache.clear()
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._model, directory / _FILE)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "HybridIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / _FILE)
        except (ValueError, FileNotFoundError):
            log.warning("HybridIntentClassifier: no trained model found; intents will not be predicted")
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        vectorizer, svm = self._model
        todo = [m for m in messages if m.get(TEXT)]
        for m in messages:
            if not m.get(TEXT):  # empty message: no intent; the FallbackClassifier takes it
                m.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                m.set("intent_ranking", [], add_to_output=True)
        if not todo:
            return messages
        # the same text always gets the same probabilities: messages seen before (greetings,
        # "tell me more", suggested questions) come from a bounded per-process cache
        by_text = {m.get(TEXT): m for m in todo}
        probabilities = self._cache.get_many(
            [m.get(TEXT) for m in todo],
            lambda texts: svm.predict_proba(self._matrix([by_text[t] for t in texts], vectorizer)))
        for message, probs in zip(todo, probabilities):
            order = np.argsort(-probs)
            ranking = [{"name": str(svm.classes_[i]), "confidence": float(probs[i])}
                       for i in order[: self.config["ranking_length"]]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages
