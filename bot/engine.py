"""The engine: everything one process needs to answer, built from settings.

An ``Engine`` owns the loaded index, the embedding models, the fusion model, the glossary,
the reply strings and the safety guard; each is loaded on first use (thread-safe), or all at
once by ``warm_up``. Nothing is loaded when a module is imported. The CLI, the Rasa action
server and the tests each make one engine and call the same functions with it
(``handle``, ``search``, ``bot/answers.py``)::

    engine = Engine.from_env()
    engine.warm_up()
    reply = engine.handle("What do the documents say about 3D-printed guns?")
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import numpy as np

from bot import config, dialogue, embeddings, fusion, guard as guard_mod, index as index_mod, language, rankers, safety
from bot.conversation import Context
from bot.reply import Reply
from bot.search import SearchResult, Searcher
from bot.texts import Texts

log = logging.getLogger(__name__)

EncoderFactory = Callable[[str], embeddings.Encoder]


class Engine:
    """The assistant's stages over one index (see the module docstring)."""

    def __init__(self, settings: config.Settings, encoder_factory: EncoderFactory | None = None,
                 build_encoder_factory: EncoderFactory | None = None, progress: bool = False) -> None:
        self.settings = settings
        self.progress = progress
        self._encoder_factory = encoder_factory or (
            lambda name: embeddings.Encoder(name, threads=settings.embed_threads, cache=settings.embed_cache))
        # the index build embeds the corpus with every core (or the test double)
        self._build_encoder_factory = build_encoder_factory or encoder_factory
        self._lock = threading.RLock()
        self._index: index_mod.Index | None = None
        self._encoders: dict[str, embeddings.Encoder] = {}
        self._model: fusion.Model | None | bool = False    # False: not loaded yet
        self._glossary: language.Glossary | None = None
        self._texts: Texts | None = None
        self._guard: guard_mod.Guard | None = None
        self._searcher: Searcher | None = None

    @classmethod
    def from_env(cls, progress: bool = False) -> "Engine":
        return cls(config.Settings.from_env(), progress=progress)

    # ---- resources, each loaded once ----------------------------------------------

    @property
    def index(self) -> index_mod.Index:
        """The index (built first if missing, stale or damaged)."""
        with self._lock:
            if self._index is None:
                self._index = index_mod.ensure(self.settings, progress=self.progress,
                                               encoder_factory=self._build_encoder_factory)
            return self._index

    def use_index(self, idx: index_mod.Index) -> None:
        """Answer from ``idx`` (an index built or loaded elsewhere)."""
        with self._lock:
            self._index, self._searcher = idx, None

    def encoder(self, name: str) -> embeddings.Encoder:
        with self._lock:
            if name not in self._encoders:
                self._encoders[name] = self._encoder_factory(name)
            return self._encoders[name]

    def encode(self, model: int, text: str) -> np.ndarray:
        """The query embedding of ``text`` with the index's ``model``-th model (one row)."""
        return self.encoder(self.index.models[model]).encode([text])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Query embeddings with the primary model (the guard's classifier features)."""
        return self.encoder(self.index.models[0]).encode(texts)

    @property
    def model(self) -> fusion.Model | None:
        """The trained fusion model; None if absent, disabled, or trained for other rankers or
        other embedding models than the index uses (then RRF and a heuristic confidence apply)."""
        with self._lock:
            if self._model is False:
                model = None
                if self.settings.use_ranker:
                    features = fusion.feature_names(rankers.configured(self.settings))
                    model = fusion.Model.load(self.settings.ranker_path, features)
                if model is not None and model.info.get("models") and model.info["models"] != self.index.models:
                    model = None
                self._model = model
            return self._model   # type: ignore[return-value]

    def reload_model(self) -> None:
        """Read ``data/ranker.json`` again (after ``tune`` wrote it)."""
        with self._lock:
            self._model, self._searcher = False, None

    @property
    def glossary(self) -> language.Glossary:
        with self._lock:
            if self._glossary is None:
                self._glossary = language.Glossary(self.settings.glossary_path)
            return self._glossary

    @property
    def texts(self) -> Texts:
        with self._lock:
            if self._texts is None:
                self._texts = Texts.load(self.settings.data_dir)
            return self._texts

    @property
    def guard(self) -> guard_mod.Guard:
        with self._lock:
            if self._guard is None:
                self._guard = guard_mod.Guard(self.settings, self.encode_texts, self.index.models[0])
            return self._guard

    @property
    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(self.index, self.settings, self.glossary, self.encode, self.model)
            return self._searcher

    def warm_up(self) -> None:
        """Load everything and answer one real search, so the first user waits for nothing."""
        self.searcher.search("3D printing")
        language.pos_tags("联合国")   # jieba's part-of-speech tables (the evidence checks' place names)
        self.guard.classifier   # noqa: B018 - loads (or trains) the classifier
        self.texts  # noqa: B018

    # ---- what callers ask ----------------------------------------------------------

    def search(self, text: Any, top_k: int | None = None, doc: str | None = None) -> SearchResult:
        return self.searcher.search(text, top_k=top_k, doc=doc)

    def handle(self, text: str, ctx: Context | None = None, history: list[str] | None = None,
               doc: str | None = None, intent: str | None = None, confidence: float = 0.0) -> Reply:
        """The reply to a message for the documents: guard, then search (``bot/safety.py``)."""
        return safety.handle(self, text, ctx, history, doc, intent, confidence)

    def turn(self, text: str, ctx: Context, history: list[str] | None = None) -> tuple[Reply, Context]:
        """One turn of a conversation without Rasa (the CLI chat, the evaluation): the reply and
        the conversation state it leaves, as the Rasa action stores it in slots."""
        reply = self.handle(text, ctx, history=history)
        return reply, dialogue.after(ctx, reply, text)
