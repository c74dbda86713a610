"""Fusion stage: a learned linear ranker over the hybrid's scores, and the answer confidence.

Each candidate passage (the union of every ranker's top list) gets a small feature vector:
similarities from each dense model, its best sentence, BM25, reciprocal ranks, and a few
shape features, for the original text and again for its English reading; Chinese queries get their own copy of the features so each language learns
its own balance. A logistic regression trained on the dev set (``python -m bot tune``)
scores candidates; a second one, over the top candidate's features, gives the probability
that the documents answer the question at all (scaled down when the question has an evidence
gap: a name the corpus never mentions, or an asked-for figure or date the best passage does
not state). Both are stored in ``data/ranker.json``
with their cross-validated metrics. Without that file the search falls back to weighted
reciprocal-rank fusion.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

RRF_K = 60
BASE_FEATURES = [
    "extra_cos", "extra_gap", "dense_cos", "dense_gap", "sentence_cos", "sentence_gap",
    "bm25_rel", "bm25_abs", "bigram_rel", "rr_extra", "rr_dense", "rr_sentence", "rr_bm25", "rr_bigram",
    "has_children", "log_length", "doc_named",
    "en_dense_cos", "en_dense_gap", "en_sentence_cos", "en_sentence_gap", "en_extra_cos", "en_extra_gap",
    "en_bm25_rel", "en_bm25_abs", "rr_en_dense", "rr_en_bm25", "rr_en_extra",
]
FEATURES = BASE_FEATURES + [f"zh_{n}" for n in BASE_FEATURES]
QUERY_FEATURES = [
    "top_score", "top_extra_cos", "top_dense_cos", "top_sentence_cos", "top_bm25_abs",
    "max_extra_cos", "max_dense_cos", "max_sentence_cos", "glossary_terms", "uncovered_en",
    "zh_oov", "top_coverage", "zh",
    "zh_top_extra_cos", "zh_max_extra_cos", "zh_top_sentence_cos", "zh_top_bm25_abs", "zh_top_coverage",
    "top_en_extra_cos", "max_en_extra_cos", "top_en_sentence_cos", "top_en_bm25_abs", "en_oov", "en_top_coverage",
    "asks_fact", "fact_missing", "unknown_names",
]


@dataclass
class Linear:
    """Standardised logistic-regression weights: ``score = ((x - mean) / scale) · coef + intercept``."""

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(x)))

    def to_json(self) -> dict[str, Any]:
        return {"names": self.names, "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(),
                "coef": self.coef.round(6).tolist(), "intercept": round(float(self.intercept), 6)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Linear":
        return cls(list(data["names"]), np.array(data["mean"], np.float64), np.array(data["scale"], np.float64),
                   np.array(data["coef"], np.float64), float(data["intercept"]))


def fit(x: np.ndarray, y: np.ndarray, names: list[str], c: float = 1.0, balanced: bool = True) -> Linear:
    """Fit a standardised logistic regression."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None)
    clf.fit((x - mean) / scale, y)
    return Linear(names, mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]))


def candidate_features(rows: Sequence[dict[str, float]], zh: bool) -> np.ndarray:
    """Feature matrix for candidates of one query (``rows`` hold the raw per-candidate values)."""
    if not rows:
        return np.zeros((0, len(FEATURES)))
    top = {k: max(r[k] for r in rows) for k in ("extra_cos", "dense_cos", "sentence_cos", "bm25", "bigram",
                                               "en_dense_cos", "en_sentence_cos", "en_extra_cos", "en_bm25")}
    out = []
    for r in rows:
        base = [
            r["extra_cos"], r["extra_cos"] - top["extra_cos"],
            r["dense_cos"], r["dense_cos"] - top["dense_cos"],
            r["sentence_cos"], r["sentence_cos"] - top["sentence_cos"],
            r["bm25"] / top["bm25"] if top["bm25"] > 0 else 0.0,
            r["bm25"] / (r["bm25"] + 10.0),
            r["bigram"] / top["bigram"] if top["bigram"] > 0 else 0.0,
            1.0 / (RRF_K + r["rank_extra"]), 1.0 / (RRF_K + r["rank_dense"]),
            1.0 / (RRF_K + r["rank_sentence"]), 1.0 / (RRF_K + r["rank_bm25"]),
            1.0 / (RRF_K + r["rank_bigram"]),
            r["has_children"], math.log(max(1.0, r["length"])), r["doc_named"],
            r["en_dense_cos"], r["en_dense_cos"] - top["en_dense_cos"],
            r["en_sentence_cos"], r["en_sentence_cos"] - top["en_sentence_cos"],
            r["en_extra_cos"], r["en_extra_cos"] - top["en_extra_cos"],
            r["en_bm25"] / top["en_bm25"] if top["en_bm25"] > 0 else 0.0,
            r["en_bm25"] / (r["en_bm25"] + 10.0),
            1.0 / (RRF_K + r["rank_en_dense"]), 1.0 / (RRF_K + r["rank_en_bm25"]), 1.0 / (RRF_K + r["rank_en_extra"]),
        ]
        out.append(base + [v * (1.0 if zh else 0.0) for v in base])
    return np.array(out, dtype=np.float64)


def query_features(rows: Sequence[dict[str, float]], top_score: float, cover: dict[str, float], zh: bool) -> np.ndarray:
    """Features of a query and its best candidate, for the answerable / not-in-the-documents decision."""
    best = rows[0]
    z = 1.0 if zh else 0.0
    vals = [
        top_score, best["extra_cos"], best["dense_cos"], best["sentence_cos"], best["bm25"] / (best["bm25"] + 10.0),
        max(r["extra_cos"] for r in rows), max(r["dense_cos"] for r in rows), max(r["sentence_cos"] for r in rows),
        float(min(cover["glossary_terms"], 5)), cover["uncovered_en"], cover["zh_oov"], cover["top_coverage"], z,
        z * best["extra_cos"], z * max(r["extra_cos"] for r in rows), z * best["sentence_cos"],
        z * best["bm25"] / (best["bm25"] + 10.0), z * cover["top_coverage"],
        best["en_extra_cos"], max(r["en_extra_cos"] for r in rows), best["en_sentence_cos"],
        best["en_bm25"] / (best["en_bm25"] + 10.0), cover["en_oov"], cover["en_top_coverage"],
        cover["asks_fact"], cover["fact_missing"], cover["unknown_names"],
    ]
    return np.array(vals, dtype=np.float64)


def evidence_gap(cover: dict[str, float]) -> bool:
    """The question names something the corpus never mentions, or asks for a figure or date
    its best passage does not state."""
    return cover.get("fact_missing", 0.0) > 0 or cover.get("unknown_names", 0.0) > 0


def scaled_confidence(probability: float, cover: dict[str, float], info: dict[str, Any]) -> float:
    """The confidence model's probability, scaled down by the trained factor for an evidence gap."""
    return probability * float(info.get("evidence_gap_scale", 1.0)) if evidence_gap(cover) else probability


@dataclass
class Model:
    """The trained ranker and confidence models plus what they were trained with."""

    ranker: Linear
    confidence: Linear
    info: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> "Model | None":
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        ranker = Linear.from_json(data["ranker"])
        confidence = Linear.from_json(data["confidence"])
        if ranker.names != FEATURES or confidence.names != QUERY_FEATURES:
            return None  # trained for another feature set: fall back to RRF until re-tuned
        return cls(ranker, confidence, data.get("info", {}))

    def save(self, path: Path) -> None:
        data = {"ranker": self.ranker.to_json(), "confidence": self.confidence.to_json(), "info": self.info}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
