"""Fusion stage: combine the rankers' named rankings, and the answer confidence.

Each candidate passage (the union of every listed ranker's top rows) gets the raw score of
every ranker and a few shape signals (``Candidate.raw``). The learned fusion turns them into
features, each ranker's as its declaration says (``bot/rankers.py``: similarity, gap to the
best candidate, share of the best BM25 score, reciprocal rank, ...); Chinese queries get
their own copy so each language learns its own balance. A logistic regression trained on the
question sets (``python -m bot tune``) scores candidates; a second one, over the top
candidate's features, gives the probability that the documents answer the question at all
(scaled down when the question has an evidence gap: ``bot/evidence.py``). Both are stored in
``data/ranker.json`` with their cross-validated metrics, each with the feature names it was
trained on. Without that file, or when the configured rankers differ from those it was
trained with, candidates are fused by weighted reciprocal rank (RRF).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from bot.rankers import Ranker

RRF_K = 60
SHAPE_FEATURES = ("has_children", "log_length", "doc_named", "kind_note", "kind_matter", "kind_caption",
                  "fact_match", "who_match", "which_match")
QUERY_FEATURES = (
    "top_score", "top_extra_cos", "top_dense_cos", "top_sentence_cos", "top_bm25_abs",
    "max_extra_cos", "max_dense_cos", "max_sentence_cos", "glossary_terms", "uncovered_en",
    "zh_oov", "top_coverage", "zh",
    "zh_top_extra_cos", "zh_max_extra_cos", "zh_top_sentence_cos", "zh_top_bm25_abs", "zh_top_coverage",
    "top_en_extra_cos", "max_en_extra_cos", "top_en_sentence_cos", "top_en_bm25_abs", "en_oov", "en_top_coverage",
    "asks_fact", "fact_missing", "unknown_names", "zh_unknown_proper", "type_missing",
)


@dataclass
class Candidate:
    """One searchable row with every ranker's raw score and rank, and its fused score."""

    row: int
    raw: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)   # listed rankers that found it → rank
    fused: float = 0.0


def _feature_name(ranker: str, kind: str) -> str:
    return f"rr_{ranker}" if kind == "rr" else f"{ranker}_{kind}"


def base_features(rankers: Iterable[Ranker]) -> list[str]:
    """Feature names of one language's copy: every ranker's, then the shape signals."""
    return [_feature_name(r.name, kind) for r in rankers for kind in r.features] + list(SHAPE_FEATURES)


def feature_names(rankers: Iterable[Ranker]) -> list[str]:
    base = base_features(rankers)
    return base + [f"zh_{n}" for n in base]


def candidate_features(rows: Sequence[dict[str, float]], zh: bool, rankers: Sequence[Ranker],
                       order: Sequence[str]) -> np.ndarray:
    """Feature matrix for the candidates of one query, columns in ``order`` (the model's)."""
    if not rows:
        return np.zeros((0, len(order)))
    z = 1.0 if zh else 0.0
    f: dict[str, np.ndarray] = {}     # feature → its column over the candidates
    for r in rankers:
        v = np.array([row[r.raw_key] for row in rows], np.float64)
        best = float(v.max())
        for kind in r.features:
            if kind == "cos":
                x = v
            elif kind == "gap":
                x = v - best
            elif kind == "rel":
                x = v / best if best > 0 else np.zeros_like(v)
            elif kind == "abs":
                x = v / (v + 10.0)
            else:  # rr
                x = 1.0 / (RRF_K + np.array([row[f"rank_{r.name}"] for row in rows], np.float64))
            f[_feature_name(r.name, kind)] = x
    f["has_children"] = np.array([row["has_children"] for row in rows], np.float64)
    f["log_length"] = np.log(np.maximum(1.0, np.array([row["length"] for row in rows], np.float64)))
    for name in SHAPE_FEATURES[2:]:
        f[name] = np.array([row[name] for row in rows], np.float64)
    columns = [f[name] if not name.startswith("zh_") or name in f else f[name[3:]] * z for name in order]
    return np.column_stack(columns)


def query_features(rows: Sequence[dict[str, float]], top_score: float, cover: Mapping[str, float], zh: bool,
                   order: Sequence[str] = QUERY_FEATURES) -> np.ndarray:
    """Features of a query and its best candidate, for the answerable / not-in-the-documents
    decision (columns in ``order``)."""
    best = rows[0]
    z = 1.0 if zh else 0.0
    f = {
        "top_score": top_score, "top_extra_cos": best["extra_cos"], "top_dense_cos": best["dense_cos"],
        "top_sentence_cos": best["sentence_cos"], "top_bm25_abs": best["bm25"] / (best["bm25"] + 10.0),
        "max_extra_cos": max(r["extra_cos"] for r in rows), "max_dense_cos": max(r["dense_cos"] for r in rows),
        "max_sentence_cos": max(r["sentence_cos"] for r in rows),
        "glossary_terms": float(min(cover["glossary_terms"], 5)), "uncovered_en": cover["uncovered_en"],
        "zh_oov": cover["zh_oov"], "top_coverage": cover["top_coverage"], "zh": z,
        "zh_top_extra_cos": z * best["extra_cos"], "zh_max_extra_cos": z * max(r["extra_cos"] for r in rows),
        "zh_top_sentence_cos": z * best["sentence_cos"],
        "zh_top_bm25_abs": z * best["bm25"] / (best["bm25"] + 10.0), "zh_top_coverage": z * cover["top_coverage"],
        "top_en_extra_cos": best["en_extra_cos"], "max_en_extra_cos": max(r["en_extra_cos"] for r in rows),
        "top_en_sentence_cos": best["en_sentence_cos"],
        "top_en_bm25_abs": best["en_bm25"] / (best["en_bm25"] + 10.0), "en_oov": cover["en_oov"],
        "en_top_coverage": cover["en_top_coverage"],
        "asks_fact": cover["asks_fact"], "fact_missing": cover["fact_missing"], "unknown_names": cover["unknown_names"],
        "zh_unknown_proper": cover.get("zh_unknown_proper", 0.0), "type_missing": cover.get("type_missing", 0.0),
    }
    return np.array([f[name] for name in order], dtype=np.float64)


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
    return Linear(list(names), mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]))


def evidence_gap(cover: Mapping[str, float]) -> bool:
    """The question names something the corpus never mentions, or asks for a figure or date
    its best passage does not state."""
    return cover.get("fact_missing", 0.0) > 0 or cover.get("unknown_names", 0.0) > 0 or cover.get("type_missing", 0.0) > 0


def scaled_confidence(probability: float, cover: Mapping[str, float], info: Mapping[str, Any]) -> float:
    """The confidence model's probability, scaled down by the trained factor for an evidence gap."""
    return probability * float(info.get("evidence_gap_scale", 1.0)) if evidence_gap(cover) else probability


@dataclass
class Model:
    """The trained ranker and confidence models plus what they were trained with."""

    ranker: Linear
    confidence: Linear
    info: dict[str, Any]

    @classmethod
    def load(cls, path: Path, features: Sequence[str]) -> "Model | None":
        """The model in ``path``; None when there is none, or it was trained on other features
        than ``features`` (the configured rankers') — then RRF applies until re-tuned."""
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        ranker = Linear.from_json(data["ranker"])
        confidence = Linear.from_json(data["confidence"])
        if set(ranker.names) != set(features) or set(confidence.names) != set(QUERY_FEATURES):
            return None
        return cls(ranker, confidence, data.get("info", {}))

    def save(self, path: Path) -> None:
        data = {"ranker": self.ranker.to_json(), "confidence": self.confidence.to_json(), "info": self.info}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def imputation(self) -> dict[str, float]:
        """Mean gap between a reading's signals and the original's (training set): what a
        passage without that reading (no translation, no question list) is assumed to score."""
        return dict(self.info.get("imputation") or self.info.get("en_imputation") or {})


def rrf(cands: list[Candidate], weights: Mapping[str, Sequence[float]], zh: bool, k: int = RRF_K,
        doc_boost: float = 0.0) -> None:
    """Weighted reciprocal-rank fusion of the listed rankers' ranks (the fallback fusion);
    ``weights`` holds each ranker's (English or mixed, Chinese) weight."""
    col = 1 if zh else 0
    for c in cands:
        c.fused = sum(weights.get(name, (1.0, 1.0))[col] / (k + r) for name, r in c.ranks.items())
        if c.raw["doc_named"]:
            c.fused += doc_boost
