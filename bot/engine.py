"""The engine: everything one process needs to answer, built from settings.

An ``Engine`` owns the loaded index, the embedding models, the fusion model, the glossary,
the reply strings and the safety guard; each is loaded on first use (thread-safe), or all at
once by ``warm_up``. Nothing is loaded when a module is imported. The CLI, the Rasa action
server and the tests each make one engine and call the same functions with it
(``handle``, ``search``, ``bot/answers.py``)::

    engine = Engine.from_env()
    engine.warm_up()
    reply = engine.handle("What do the documents say about 3D-printed guns?")

The index is loaded (or built: missing, stale or damaged) by the first thread that needs it;
one that another process replaced (a document added) is loaded in its place within seconds.
While a build runs, here or in another process (``bot/index.py``'s build lock), ``warm_up``
and the ``index`` property wait for it; a user's question (``handle``, ``require_index``) does
not wait: it gets ``rebuilding_reply`` ("being rebuilt; about N s left") at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import numpy as np

from bot import config, dialogue, embeddings, fusion, guard as guard_mod, index as index_mod, lang as lang_mod, language, rankers, safety
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
        self._index_lock = threading.Lock()   # held while the index loads or builds (not ``_lock``)
        self._index: index_mod.Index | None = None
        self._index_watch = index_mod.Watch(settings)
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
        """The index (built first if missing, stale or damaged; waits for a build under way)."""
        return self._load_index(wait=True)

    def require_index(self) -> index_mod.Index:
        """The index for a user's request: raises ``index.Rebuilding`` at once while another
        thread or process builds it (a missing index nobody builds yet is built here)."""
        return self._load_index(wait=False)

    def _load_index(self, wait: bool) -> index_mod.Index:
        idx = self._index
        if idx is not None and not self._index_watch.replaced():
            return idx
        if idx is not None:   # another process built a new index (a document added): load it
            if not self._index_lock.acquire(blocking=False):
                return idx    # another thread is loading it; answer from the current one meanwhile
            try:
                self._index_watch.mark()
                if index_mod.status(self.settings)[0] != "current":
                    return idx   # not built for the documents as they are now: not this thread's job
                new = index_mod.Index.load(self.settings.index_dir, self.settings)
            except index_mod.IndexError_ as exc:   # unusable: keep answering from the loaded one
                log.warning("a new search index could not be loaded (%s); the previous one stays in use", exc)
                return idx
            finally:
                self._index_lock.release()
            self.use_index(new)
            log.info("search index reloaded: %d documents", len(new.documents))
            return new
        # not under ``_lock``: a build takes a minute and other resources must stay reachable
        while not self._index_lock.acquire(timeout=0.2):
            if not wait:
                left = index_mod.rebuilding(self.settings)
                if left is not None:
                    raise index_mod.Rebuilding(left, index_mod.lock_path(self.settings))
        try:
            if self._index is None:
                self._index_watch.mark()
                self._index = index_mod.ensure(self.settings, progress=self.progress,
                                               encoder_factory=self._build_encoder_factory, wait=wait)
            return self._index
        finally:
            self._index_lock.release()

    def use_index(self, idx: index_mod.Index) -> None:
        """Answer from ``idx`` (an index built or loaded elsewhere)."""
        with self._index_lock, self._lock:
            self._index, self._searcher, self._model = idx, None, False

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
        idx = self.index   # before ``_lock``: loading or building it must not hold the other resources
        with self._lock:
            if self._model is False:
                model = None
                if self.settings.use_ranker:
                    features = fusion.feature_names(rankers.configured(self.settings))
                    model = fusion.Model.load(self.settings.ranker_path, features)
                if (model is not None and model.info.get("models")
                        and not embeddings.interchangeable(model.info["models"], idx.models)):
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
        idx = self.index
        with self._lock:
            if self._guard is None:
                self._guard = guard_mod.Guard(self.settings, self.encode_texts, idx.models[0])
            return self._guard

    @property
    def searcher(self) -> Searcher:
        idx, model = self.index, self.model
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(idx, self.settings, self.glossary, self.encode, model)
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
        """The reply to a message for the documents: guard, then search (``bot/safety.py``);
        while the index is being rebuilt, ``rebuilding_reply`` at once."""
        try:
            self.require_index()
        except index_mod.Rebuilding as exc:
            return self.rebuilding_reply(lang_mod.reply_lang(text or "", ctx.lang if ctx else None), exc)
        return safety.handle(self, text, ctx, history, doc, intent, confidence)

    def rebuilding_reply(self, lang: str, exc: index_mod.Rebuilding) -> Reply:
        """"The document index is being rebuilt; about N s left. Please ask again shortly." """
        log.warning("search index: being rebuilt, a request was told to ask again in about %d s", exc.seconds_left)
        return Reply("info", lang, self.texts.t(lang, "rebuilding", seconds=exc.seconds_left),
                     data={"status": "rebuilding", "seconds_left": exc.seconds_left})

    def turn(self, text: str, ctx: Context, history: list[str] | None = None) -> tuple[Reply, Context]:
        """One turn of a conversation without Rasa (the CLI chat, the evaluation): the reply and
        the conversation state it leaves, as the Rasa action stores it in slots."""
        reply = self.handle(text, ctx, history=history)
        return reply, dialogue.after(ctx, reply, text)
