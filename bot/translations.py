"""The English reading of the corpus: unofficial translations keyed by passage id.

``data/documents/en/<doc_id>.yml`` holds one entry per body paragraph and footnote of a
document (``"<doc_id>:<passage>": "English text"``). The index stores each passage's English
text next to its original, searches it (English BM25, both embedding models) and answers
English questions with it, always labelled as an unofficial translation. A document without
a file here still works: it is searched cross-lingually and quoted in the original.
"""

from __future__ import annotations

import hashlib
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from bot import language

SUBDIR = "en"
_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")


class TranslationError(ValueError):
    """A translation file that cannot be read."""


def folder(documents_dir: Path) -> Path:
    return documents_dir / SUBDIR


def files(documents_dir: Path) -> list[Path]:
    path = folder(documents_dir)
    return sorted(p for p in path.glob("*.yml") if p.is_file()) if path.is_dir() else []


def fingerprint(documents_dir: Path) -> str:
    """Hash of every translation file (name and content); part of the index fingerprint."""
    h = hashlib.sha256()
    for path in files(documents_dir) + [documents_dir / HEADINGS_FILE]:
        if not path.exists():
            continue
        h.update(path.name.encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def load(documents_dir: Path, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
    """``{passage id: English text}`` for the documents that have a translation file.

    Entries must belong to the file's document (``<stem>:...``); anything else is an error
    naming the file, as is a file that is not a YAML mapping of strings.
    """
    wanted = set(doc_ids) if doc_ids is not None else None
    out: dict[str, str] = {}
    for path in files(documents_dir):
        if wanted is not None and path.stem not in wanted:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise TranslationError(f"{path.name}: cannot read the translation ({type(exc).__name__})") from exc
        if not isinstance(data, dict):
            raise TranslationError(f"{path.name}: expected 'passage id: English text' entries")
        for key, value in data.items():
            if not str(key).startswith(path.stem + ":") or not isinstance(value, str):
                raise TranslationError(f"{path.name}: entry {key!r} is not '{path.stem}:<paragraph>: text'")
            if value.strip():
                out[str(key)] = " ".join(value.split())
    return out


_LOCAL = threading.local()


def _stemmer():  # type: ignore[no-untyped-def]
    """One Snowball stemmer per thread: a stemmer keeps the word it is working on in itself,
    so two threads sharing one (the action server runs actions in a thread pool) corrupt each
    other's words."""
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _LOCAL.stemmer = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Snowball stem of one lower-case word (memoised: the pure-Python stemmer is slow, and
    the corpus and its questions use a few thousand distinct words)."""
    return str(_stemmer().stemWord(word))


def en_tokens(text: str) -> list[str]:
    """BM25 tokens of English text: lower-case Snowball stems without stopwords."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in language.EN_STOPWORDS and (len(w) > 1 or w.isdigit())]


HEADINGS_FILE = "headings_en.yml"


def headings(documents_dir: Path) -> dict[str, dict[str, str]]:
    """English renderings of section headings, ``{doc_id: {Chinese heading: English}}``."""
    path = documents_dir / HEADINGS_FILE
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TranslationError(f"{path.name}: cannot read the headings ({type(exc).__name__})") from exc
    return {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in data.items() if isinstance(v, dict)}
