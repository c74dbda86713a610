"""Test doubles: an embedding model that needs no weights, and a small corpus."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "data" / "documents"
# the Congress workshop report (numbered paragraphs, a translation) and the journal article
# (unnumbered paragraphs, footnotes, a translation)
SMALL_CORPUS = ("congress-ws4-report", "ai-undress-study")


class FakeEncoder:
    """A deterministic stand-in for an embedding model: character unigrams and bigrams hashed
    into 64 dimensions, normalised. Texts that share characters are similar, which is enough
    for tests of everything around the models; nothing to download or load."""

    dim = 64

    def __init__(self, name: str = "fake") -> None:
        self.name = name

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False, query: bool = True) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            t = text.lower()
            for gram in list(t) + [t[j:j + 2] for j in range(len(t) - 1)]:
                if gram.strip():
                    out[i, zlib.crc32(gram.encode("utf-8")) % self.dim] += 1.0
            norm = float(np.linalg.norm(out[i]))
            if norm:
                out[i] /= norm
            else:
                out[i, 0] = 1.0
        return out


def copy_small_corpus(target: Path, translated: tuple[str, ...] = SMALL_CORPUS) -> Path:
    """The two documents of ``SMALL_CORPUS`` with the catalog, headings, question lists and the
    translations of ``translated``, into ``target`` (a documents folder)."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "en").mkdir(exist_ok=True)
    (target / "questions").mkdir(exist_ok=True)
    for name in ("catalog.yml", "headings_en.yml"):
        shutil.copy(DOCS / name, target / name)
    for doc in SMALL_CORPUS:
        shutil.copy(DOCS / f"{doc}.txt", target / f"{doc}.txt")
        shutil.copy(DOCS / "questions" / f"{doc}.yml", target / "questions" / f"{doc}.yml")
    for doc in translated:
        shutil.copy(DOCS / "en" / f"{doc}.yml", target / "en" / f"{doc}.yml")
    return target
