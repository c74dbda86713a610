"""Per-passage question lists: the questions each passage answers, in everyday words.

``data/documents/questions/<doc_id>.yml`` maps a passage id to the questions people ask that
the passage answers, in everyday English and Chinese (``{"<doc>:<passage>": {"en": [...],
"zh": [...]}}``). They are written from the passages themselves, never from question sets
(docs/retrieval.md says how), and searched as one more reading of the passage
(``bot/readings.py``: ``Questions``): a user's question that matches one of them finds the
passage even when it shares no words with the document's wording. Optional: a document
without a file is searched by its other readings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import yaml

SUBDIR = "questions"


class QuestionsError(ValueError):
    """A question list that cannot be read."""


def files(documents_dir: Path) -> list[Path]:
    folder = documents_dir / SUBDIR
    return sorted(p for p in folder.glob("*.yml") if p.is_file()) if folder.is_dir() else []


def fingerprint(documents_dir: Path) -> str:
    """Hash of every question list (name and content); part of the index fingerprint."""
    h = hashlib.sha256()
    for path in files(documents_dir):
        h.update(path.name.encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def load(documents_dir: Path, doc_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``{passage id: [questions]}`` (English first, then Chinese) for the documents with a list.

    Entries must belong to the file's document (``<stem>:...``) and be lists of strings under
    ``en`` and ``zh``; anything else is an error naming the file."""
    wanted = set(doc_ids) if doc_ids is not None else None
    out: dict[str, list[str]] = {}
    for path in files(documents_dir):
        if wanted is not None and path.stem not in wanted:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise QuestionsError(f"{path.name}: cannot read the question list ({type(exc).__name__})") from exc
        if not isinstance(data, dict):
            raise QuestionsError(f"{path.name}: expected 'passage id: {{en: [...], zh: [...]}}' entries")
        for key, value in data.items():
            if not str(key).startswith(path.stem + ":") or not isinstance(value, dict):
                raise QuestionsError(f"{path.name}: entry {key!r} is not '{path.stem}:<passage>: {{en, zh}}'")
            questions = []
            for lang in ("en", "zh"):
                items = value.get(lang) or []
                if not isinstance(items, list) or not all(isinstance(q, str) for q in items):
                    raise QuestionsError(f"{path.name}: {key} {lang} is not a list of questions")
                questions += [" ".join(q.split()) for q in items if q.strip()]
            if questions:
                out[str(key)] = questions
    return out
