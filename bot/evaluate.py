"""Retrieval evaluation on question sets (``make eval``) and training of the fusion (``make tune``).

A retrieved passage is relevant if it comes from one of the gold documents and contains the
gold substring, comparing with all whitespace removed. Items with an empty gold list are
off-corpus and must be declined. Metrics per language: recall@1, recall@5, MRR (top 10),
nDCG@10, plus the share of off-corpus questions declined and of answerable ones declined.
Systems: the full hybrid, dense only, BM25 only, and an "enterprise search" baseline
(1000-character chunks with 20 characters overlap, same model, file-level source).

Two sets, reported apart: the document-worded dev set (``tests/eval/dev-questions.json``) and
the everyday set (``tests/eval/everyday-questions.json``, written by someone who never saw the
project: everyday wording, answers outside body paragraphs, off-corpus near misses, disguised
harm, help-seeking, conversations). The fusion is trained on both, so the everyday set's
figures that count are the cross-validated ones (each question scored by models that never
saw it); ``everyday`` prints them by kind of question next to the trained model's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bot import config, corpus as corpus_mod, fusion, guard, language
from bot.engine import Engine

Ranker = Callable[[dict[str, Any]], tuple[list[tuple[str, str]], float]]


def item_kind(item: dict[str, Any]) -> str:
    """The row an item is reported in: ``document-worded`` (the dev set), ``everyday``,
    ``script`` (traditional characters, Cantonese), ``non-body``, ``off-corpus``, ``refusal``,
    ``support``, ``conversation``."""
    note = str(item.get("note") or "")
    ident = str(item.get("id") or "")
    if item.get("turns"):
        return "conversation"
    expect = item.get("expect") or ("answer" if item.get("gold") else "no_answer")
    if expect in ("refusal", "support"):
        return expect
    if expect == "no_answer":
        return "off-corpus"
    if ident.startswith("nb") or note.startswith("[non-body"):
        return "non-body"
    if note.startswith("[traditional") or note.startswith("[cantonese"):
        return "script"
    return "everyday" if ident else "document-worded"


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The items of a question set, in one shape: ``question``, ``lang``, ``gold`` (a list of
    ``{"doc", "substr"}``), ``expect``, ``kind``, ``set`` (the file's stem), and ``turns`` and
    ``id`` where the set has them. Both the dev set's and the everyday set's format are read."""
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["items"] if isinstance(data, dict) else data
    out = []
    for it in items:
        question = it.get("question") or it.get("q")
        if not question:
            continue
        gold = [g if isinstance(g, dict) else {"doc": g[0], "substr": g[1]} for g in it.get("gold") or []]
        item = {**it, "question": question, "gold": gold, "set": path.stem,
                "expect": it.get("expect") or ("answer" if gold else "no_answer")}
        item["kind"] = item_kind(item)
        out.append(item)
    return out


def single(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one-message questions the search answers or declines (no conversations, refusals, referrals)."""
    return [it for it in items if not it.get("turns") and it["expect"] in ("answer", "no_answer")]


def gold_resolver(engine: Engine) -> "Resolve":
    """Gold document references: a file name or id, or the first digits of the original file
    name (``"001"`` for ``001_fde78c90ab8bba8c.txt``)."""
    catalog = engine.index.catalog

    def resolve(ref: str) -> str | None:
        found = catalog.resolve(ref)
        if found:
            return found
        return next((d for d, m in catalog.items() if str(m.get("source") or "").startswith(f"{ref}_")), None)

    return resolve


Resolve = Callable[[str], "str | None"]


def relevant(doc_id: str, text: str, gold: list[dict[str, str]], resolve: Resolve) -> int:
    """Gain of a retrieved unit: 2 for the main answer (gold[0]), 1 for other gold, 0 otherwise.
    ``resolve`` maps a gold document reference (a file name) to a document id."""
    norm = language.normalise(text)
    for k, g in enumerate(gold):
        if (resolve(g["doc"]) or g["doc"]) == doc_id and language.normalise(corpus_mod.plain(g["substr"])) in norm:
            return 2 if k == 0 else 1
    return 0


def metrics(gains: list[list[int]], n_gold: list[int]) -> dict[str, float]:
    """recall@1, recall@5, MRR@10 and nDCG@10 over ranked gain lists."""
    r1 = r5 = mrr = ndcg = 0.0
    for g, ng in zip(gains, n_gold):
        hits = [i for i, x in enumerate(g[:10]) if x > 0]
        r1 += 1.0 if g[:1] and g[0] > 0 else 0.0
        r5 += 1.0 if any(x > 0 for x in g[:5]) else 0.0
        mrr += 1.0 / (hits[0] + 1) if hits else 0.0
        dcg = sum((2 ** x - 1) / math.log2(i + 2) for i, x in enumerate(g[:10]))
        ideal = sorted([2] + [1] * max(0, ng - 1), reverse=True)[:10]
        idcg = sum((2 ** x - 1) / math.log2(i + 2) for i, x in enumerate(ideal))
        ndcg += dcg / idcg if idcg else 0.0
    n = max(1, len(gains))
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr": mrr / n, "ndcg@10": ndcg / n}


def system_ranker(engine: Engine, settings: config.Settings, learned: bool = True) -> Ranker:
    """Rank with the hybrid engine: the trained fusion, or RRF under ``settings``' weights."""
    searcher = engine.searcher
    idx = engine.index

    def rank(item: dict[str, Any]) -> tuple[list[tuple[str, str]], float]:
        q = searcher.prepare(item["question"])
        if learned:   # as the search ranks (bot/search.py Searcher.rank)
            ranked = searcher.rank(q, None, settings)
            cands, conf = ranked.candidates, ranked.confidence
        else:
            cands = [c for c in searcher.retrieve(q, None, settings, learned=False) if c.fused > 0]
            conf = searcher.confidence(q, cands, learned=False) if cands else 0.0
        out = []
        for c in cands[:10]:
            p = idx.row_passage(c.row)
            out.append((p.doc_id, p.text))
        return out, conf

    return rank


def baseline_ranker(engine: Engine, size: int = 1000, overlap: int = 20) -> Ranker:
    """Fixed-size character chunks of the raw files, dense only, file-level source."""
    import faiss

    idx = engine.index
    encoder = engine.encoder(idx.models[0])
    chunks: list[tuple[str, str]] = []
    for doc_id, meta in idx.catalog.items():
        raw = (engine.settings.documents_dir / meta["file"]).read_text(encoding="utf-8")
        step = size - overlap
        for start in range(0, max(1, len(raw) - overlap), step):
            chunks.append((doc_id, raw[start:start + size]))
    vecs = encoder.encode([c[1] for c in chunks])
    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)

    def rank(item: dict[str, Any]) -> tuple[list[tuple[str, str]], float]:
        qv = encoder.encode([item["question"]])
        scores, ids = flat.search(qv, 10)
        return [chunks[i] for i in ids[0] if i >= 0], 1.0

    return rank


def run(questions: list[dict[str, Any]], ranker: Ranker, resolve: Resolve,
        threshold: float) -> dict[str, Any]:
    """Evaluate one ranker; returns metrics per language and decline rates."""
    per_lang: dict[str, tuple[list[list[int]], list[int]]] = {}
    confs_answerable: list[float] = []
    confs_off: list[float] = []
    misses: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in questions:
        ranked, conf = ranker(item)
        gold = item.get("gold") or []
        if not gold:
            confs_off.append(conf)
            continue
        confs_answerable.append(conf)
        gains = [relevant(d, t, gold, resolve) for d, t in ranked]
        lang = item.get("lang") or language.detect(item["question"])
        bucket = per_lang.setdefault(lang, ([], []))
        bucket[0].append(gains)
        bucket[1].append(len(gold))
        if not any(g > 0 for g in gains[:5]):
            misses.append({"question": item["question"], "lang": lang, "top": ranked[0][1][:60] if ranked else ""})
    out: dict[str, Any] = {"languages": {}, "misses": misses}
    all_gains: list[list[int]] = []
    all_n: list[int] = []
    for lang, (gains, ng) in sorted(per_lang.items()):
        out["languages"][lang] = {"n": len(gains), **metrics(gains, ng)}
        all_gains += gains
        all_n += ng
    out["languages"]["all"] = {"n": len(all_gains), **metrics(all_gains, all_n)}
    out["off_corpus_declined"] = (sum(c < threshold for c in confs_off) / len(confs_off)) if confs_off else None
    out["answerable_declined"] = (sum(c < threshold for c in confs_answerable) / len(confs_answerable)) if confs_answerable else None
    out["n_off_corpus"] = len(confs_off)
    out["confidences"] = {"answerable": confs_answerable, "off_corpus": confs_off}
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out


def sweep(confs_answerable: list[float], confs_off: list[float], max_false_decline: float = 0.02) -> dict[str, float]:
    """Highest-decline threshold that keeps answerable questions declined ≤ ``max_false_decline``."""
    best = {"threshold": 0.0, "off_corpus_declined": 0.0, "answerable_declined": 0.0}
    for t in np.linspace(0.0, 1.0, 401):
        fd = sum(c < t for c in confs_answerable) / max(1, len(confs_answerable))
        od = sum(c < t for c in confs_off) / max(1, len(confs_off))
        if fd <= max_false_decline and od >= best["off_corpus_declined"]:
            best = {"threshold": float(t), "off_corpus_declined": od, "answerable_declined": fd}
    return best


SYSTEMS = ("full", "rrf", "dense", "e5", "bm25", "en-text", "baseline")


# RRF weights of the single-signal systems; weights not named keep their default.
_DENSE_ONLY = {"dense": (1.0, 1.0), "sentence": (0.0, 0.0), "bm25": (0.0, 0.0), "extra": (0.0, 0.0),
               "en_dense": (0.0, 0.0), "en_bm25": (0.0, 0.0), "en_extra": (0.0, 0.0)}
_E5_ONLY = {**_DENSE_ONLY, "dense": (0.0, 0.0), "extra": (1.0, 1.0)}
_BM25_ONLY = {**_DENSE_ONLY, "dense": (0.0, 0.0), "bm25": (1.0, 1.0)}
# English questions against the English reading alone (Chinese questions: the originals, RRF)
_EN_ONLY = {"dense": (0.0, 1.0), "sentence": (0.0, 1.0), "bm25": (0.0, 1.0), "extra": (0.0, 1.0),
            "bigram": (0.0, 1.0), "en_dense": (1.0, 0.0), "en_bm25": (1.0, 0.0), "en_extra": (1.0, 0.0)}


def _weighted(settings: config.Settings, weights: dict[str, tuple[float, float]]) -> config.Settings:
    return dataclasses.replace(settings, rrf_weights={**settings.rrf_weights, **weights})


def evaluate(engine: Engine, path: Path | None = None, systems: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run every system on the question set; returns a JSON-ready report."""
    settings = engine.settings
    systems = systems or SYSTEMS
    path = path or settings.dev_questions
    questions = single(load_questions(path))
    resolve = gold_resolver(engine)
    threshold = engine.searcher.threshold()
    variants = {
        "full": (settings, True),
        "rrf": (settings, False),
        "dense": (_weighted(settings, _DENSE_ONLY), False),
        "e5": (_weighted(settings, _E5_ONLY), False),
        "bm25": (_weighted(settings, _BM25_ONLY), False),
        "en-text": (_weighted(settings, _EN_ONLY), False),
    }
    report: dict[str, Any] = {"questions": str(path), "n": len(questions), "threshold": threshold, "systems": {}}
    for name in systems:
        if name == "baseline":
            rank_fn = baseline_ranker(engine)
        else:
            variant, learned = variants[name]
            rank_fn = system_ranker(engine, variant, learned)
        result = run(questions, rank_fn, resolve, threshold if name != "baseline" else -1.0)
        if name != "baseline":
            result["sweep"] = sweep(result["confidences"]["answerable"], result["confidences"]["off_corpus"])
        report["systems"][name] = result
    return report


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table of a report (what ``make eval`` prints)."""
    lines = [f"Questions: {report['n']} ({report['questions']})", ""]
    header = f"{'system':<10} {'lang':<5} {'n':>4} {'R@1':>6} {'R@5':>6} {'MRR':>6} {'nDCG10':>7}"
    lines.append(header)
    lines.append("-" * len(header))
    for name, res in report["systems"].items():
        for lang, m in res["languages"].items():
            lines.append(f"{name:<10} {lang:<5} {m['n']:>4} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} "
                         f"{m['mrr']:>6.3f} {m['ndcg@10']:>7.3f}")
    lines.append("")
    n_off = next(iter(report["systems"].values()), {}).get("n_off_corpus", 0)
    lines.append(f"Declining off-corpus questions ({n_off} in the set):")
    for name, res in report["systems"].items():
        if not n_off:
            if name != "baseline" and res["answerable_declined"] is not None:
                lines.append(f"  {name:<10} answerable declined at the configured threshold "
                             f"{report['threshold']}: {res['answerable_declined']:.1%}")
            continue
        if name == "baseline":
            lines.append(f"  {name:<10} n/a (no decline mechanism: always answers)")
            continue
        sw = res["sweep"]
        line = (f"  {name:<10} best threshold for this system with answerable declined ≤ 2%: "
                f"{sw['off_corpus_declined']:.1%} declined (answerable {sw['answerable_declined']:.1%})")
        if name == "full":
            line = (f"  {name:<10} configured threshold {report['threshold']}: {res['off_corpus_declined']:.1%} "
                    f"declined, answerable declined {res['answerable_declined']:.1%}\n" + " " * 13 + line.strip()[len(name):].strip())
        lines.append(line)
    misses = report["systems"].get("full", {}).get("misses", [])
    if misses:
        lines.append("")
        lines.append(f"Full system misses at 5 ({len(misses)}):")
        for m in misses:
            lines.append(f"  [{m['lang']}] {m['question']}  → {m['top']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Tuning the learned fusion (``python -m bot tune``)


def collect(questions: list[dict[str, Any]], engine: Engine) -> list[dict[str, Any]]:
    """Candidates with raw features and gains for every question (order-independent of any model)."""
    searcher = engine.searcher
    idx = engine.index
    resolve = gold_resolver(engine)
    names = searcher.features
    data = []
    for item in questions:
        q = searcher.prepare(item["question"])
        cands = searcher.retrieve(q, learned=False)
        gold = item.get("gold") or []
        gains = [relevant(idx.row_passage(c.row).doc_id, idx.row_passage(c.row).text, gold, resolve)
                 for c in cands] if gold else [0] * len(cands)
        data.append({
            "item": item, "lang": item.get("lang") or q.lang, "zh": q.zh, "answerable": bool(gold),
            "rows": [c.row for c in cands], "raw": [c.raw for c in cands], "gains": gains, "n_gold": len(gold),
            "cover": [searcher.coverage(q, c) for c in cands],
            "x": fusion.candidate_features([c.raw for c in cands], q.zh, searcher.rankers, names),
        })
    return data


def imputation(data: list[dict[str, Any]], rankers: list[Any]) -> dict[str, float]:
    """Mean gap between each signal of a reading a passage may lack (the English reading, the
    question list) and its counterpart on the original, over the training candidates that have
    both. A passage without that reading (a document added later, a title page without a
    translation) is scored with its original's values plus this gap, so that it competes on an
    equal footing with the others. Also the English coverage features' gap and mean."""
    out: dict[str, float] = {}
    for r in rankers:
        if r.fallback is None:
            continue
        base = next(x for x in rankers if x.name == r.fallback)
        gaps = [row[r.raw_key] - row[base.raw_key] for d in data for row in d["raw"]
                if row.get(f"has_{r.reading}", 0.0) > 0]
        if gaps:
            out[r.raw_key] = float(np.mean(gaps))
    covers = [d["cover"][0] for d in data if not d["zh"] and d["raw"] and d["raw"][0].get("has_english", 0.0) > 0]
    if covers:
        out["en_top_coverage"] = float(np.mean([c["en_top_coverage"] - c["top_coverage"] for c in covers]))
        out["en_oov_mean"] = float(np.mean([c["en_oov"] for c in covers]))
    return {k: round(v, 6) for k, v in out.items()}


def _fit_ranker(train: list[dict[str, Any]], c: float, names: list[str]) -> fusion.Linear:
    rows = [d for d in train if d["answerable"] and len(d["gains"])]
    x = np.vstack([d["x"] for d in rows])
    y = np.concatenate([[1 if g > 0 else 0 for g in d["gains"]] for d in rows])
    return fusion.fit(x, y, names, c=c)


def _query_row(d: dict[str, Any], scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores)
    top_rows = [d["raw"][i] for i in order[:10]]
    return fusion.query_features(top_rows, float(scores[order[0]]), d["cover"][order[0]], d["zh"])


def _top_cover(d: dict[str, Any], scores: np.ndarray) -> dict[str, float]:
    return d["cover"][int(np.argmax(scores))]


GAP_SCALES = (0.7, 0.5, 0.3, 0.2, 0.1)


def _cross_validate(data: list[dict[str, Any]], usable: list[int], qy: np.ndarray, folds: int, c: float,
                    seed: int, names: list[str]) -> dict[str, Any]:
    """One cross-validation by question: every question's candidate scores and confidence
    probability from models trained without it, and whether it has an evidence gap."""
    fold_of = np.random.default_rng(seed).permutation(len(data)) % folds
    scores: list[np.ndarray] = [np.zeros(0)] * len(data)
    for f in range(folds):
        model = _fit_ranker([d for d, k in zip(data, fold_of) if k != f], c, names)
        for i, d in enumerate(data):
            if fold_of[i] == f and len(d["raw"]):
                scores[i] = model.decision(d["x"])
    qx = np.vstack([_query_row(data[i], scores[i]) for i in usable])
    prob = np.zeros(len(usable))
    for f in range(folds):
        train = [k for k, i in enumerate(usable) if fold_of[i] != f]
        test = [k for k, i in enumerate(usable) if fold_of[i] == f]
        prob[test] = fusion.fit(qx[train], qy[train], list(fusion.QUERY_FEATURES), c=c).probability(qx[test])
    return {"scores": scores, "qx": qx, "prob": prob,
            "gap": np.array([fusion.evidence_gap(_top_cover(data[i], scores[i])) for i in usable])}


def _ranked_gains(d: dict[str, Any], scores: np.ndarray) -> list[int]:
    return [d["gains"][i] for i in np.argsort(-scores)[:10]] if len(scores) else []


def _retrieval(data: list[dict[str, Any]], scores: list[np.ndarray], keep: Callable[[dict[str, Any]], bool]
               ) -> dict[str, dict[str, float]]:
    """Retrieval metrics per language (and ``all``) of the answerable items ``keep`` selects."""
    per_lang: dict[str, tuple[list[list[int]], list[int]]] = {}
    for d, sc in zip(data, scores):
        if d["answerable"] and keep(d["item"]):
            for lang in (d["lang"], "all"):
                bucket = per_lang.setdefault(lang, ([], []))
                bucket[0].append(_ranked_gains(d, sc))
                bucket[1].append(d["n_gold"])
    return {lang: {"n": len(g), **metrics(g, n)} for lang, (g, n) in sorted(per_lang.items())}


@dataclasses.dataclass
class CrossValidation:
    """Repeated cross-validation over the collected questions, with the evidence-gap factor and
    the decline threshold it chooses (the answerable questions declined stay within budget)."""

    data: list[dict[str, Any]]
    usable: list[int]
    runs: list[dict[str, Any]]
    scale: float
    threshold: dict[str, Any]
    probs: list[np.ndarray]          # per repeat, scaled, over ``usable``

    def prob_of(self, repeat: int) -> dict[int, float]:
        return dict(zip(self.usable, self.probs[repeat].tolist()))


def cross_validate(data: list[dict[str, Any]], names: list[str], folds: int = 5, c: float = 0.3, repeats: int = 5,
                   max_false_decline: float = 0.02) -> CrossValidation:
    usable = [i for i, d in enumerate(data) if len(d["raw"])]
    qy = np.array([1 if data[i]["answerable"] else 0 for i in usable])
    runs = [_cross_validate(data, usable, qy, folds, c, seed, names) for seed in range(repeats)]

    # an evidence gap (a name the corpus lacks, an asked-for figure the passage lacks) scales
    # the probability down: the factor that declines most off-corpus questions on average over
    # the repeats, each at its own threshold; then one threshold on all repeats' probabilities
    def declined(factor: float) -> float:
        rates = []
        for r in runs:
            scaled = np.where(r["gap"], r["prob"] * factor, r["prob"])
            rates.append(sweep(list(scaled[qy == 1]), list(scaled[qy == 0]), max_false_decline)["off_corpus_declined"])
        return float(np.mean(rates))

    scale = max((1.0,) + GAP_SCALES, key=lambda f: (round(declined(f), 6), f))
    probs = [np.where(r["gap"], r["prob"] * scale, r["prob"]) for r in runs]
    pooled = np.concatenate(probs)
    pooled_y = np.concatenate([qy] * repeats)
    chosen = sweep(list(pooled[pooled_y == 1]), list(pooled[pooled_y == 0]), max_false_decline)
    th = chosen["threshold"]
    per_run = [float((p[qy == 0] < th).mean()) for p in probs]
    chosen.update(off_corpus_declined=float(np.mean(per_run)), off_corpus_declined_range=[min(per_run), max(per_run)],
                  answerable_declined=float(np.mean([(p[qy == 1] < th).mean() for p in probs])))
    return CrossValidation(data, usable, runs, scale, chosen, probs)


def _mean_metrics(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for lang in runs[0]:
        out[lang] = {k: (runs[0][lang][k] if k == "n" else float(np.mean([r[lang][k] for r in runs])))
                     for k in runs[0][lang]}
    return out


def _declines(cv: CrossValidation, keep: Callable[[dict[str, Any]], bool]) -> dict[str, dict[str, float | None]]:
    """Off-corpus and answerable questions declined (pooled over the repeats) per language."""
    th = cv.threshold["threshold"]
    out: dict[str, dict[str, float | None]] = {}
    items = [(k, cv.data[i]) for k, i in enumerate(cv.usable) if keep(cv.data[i]["item"])]
    for lang in sorted({d["lang"] for _, d in items}) + ["all"]:
        sel = [(k, d) for k, d in items if lang in (d["lang"], "all")]
        off = np.concatenate([p[[k for k, d in sel if not d["answerable"]]] for p in cv.probs]) if sel else np.zeros(0)
        ans = np.concatenate([p[[k for k, d in sel if d["answerable"]]] for p in cv.probs]) if sel else np.zeros(0)
        out[lang] = {"off_corpus_declined": float((off < th).mean()) if len(off) else None,
                     "answerable_declined": float((ans < th).mean()) if len(ans) else None}
    return out


def tune(engine: Engine, paths: list[Path] | None = None, folds: int = 5, c: float = 0.3,
         max_false_decline: float = 0.02, write: bool = True, repeats: int = 5) -> dict[str, Any]:
    """Train the fusion ranker and the confidence model on the question sets (default: the dev
    set and the everyday set); report cross-validated quality per set."""
    settings = engine.settings
    paths = paths or [settings.dev_questions, settings.everyday_questions]
    questions = [it for path in paths if path.exists() for it in single(load_questions(path))]
    idx = engine.index
    names = engine.searcher.features
    data = collect(questions, engine)
    cv = cross_validate(data, names, folds, c, repeats, max_false_decline)
    sets = sorted({it["set"] for it in questions})
    cv_retrieval = {name: _mean_metrics([_retrieval(data, r["scores"], lambda it, n=name: it["set"] == n)
                                         for r in cv.runs]) for name in sets}
    by_set = {name: _declines(cv, lambda it, n=name: it["set"] == n) for name in sets}
    qy = np.array([1 if data[i]["answerable"] else 0 for i in cv.usable])
    final = fusion.Model(
        ranker=_fit_ranker(data, c, names),
        confidence=fusion.fit(cv.runs[0]["qx"], qy, list(fusion.QUERY_FEATURES), c=c),
        info={
            "threshold": round(cv.threshold["threshold"], 4),
            "trained_on": [str(p.relative_to(settings.root)) if p.is_relative_to(settings.root) else str(p)
                           for p in paths if p.exists()],
            "questions": len(data), "answerable": int(qy.sum()), "off_corpus": int((qy == 0).sum()),
            "by_set": {name: sum(it["set"] == name for it in questions) for name in sets},
            "regularisation_C": c, "folds": folds, "repeats": repeats,
            "cv_retrieval": cv_retrieval,
            "cv_decline": {"threshold": cv.threshold, "by_set": by_set},
            "evidence_gap_scale": cv.scale,
            "models": idx.models,
            "imputation": imputation(data, engine.searcher.rankers),
        },
    )
    if write:
        final.save(settings.ranker_path)
        engine.reload_model()
    return final.info


def format_tune(info: dict[str, Any]) -> str:
    lines = [f"Trained on {', '.join(info['trained_on'])}: {info['answerable']} answerable, {info['off_corpus']} "
             f"off-corpus ({info['folds']}-fold cross-validation by question, mean of {info.get('repeats', 1)} repeats)", ""]
    for name, langs in info["cv_retrieval"].items():
        for lang, m in langs.items():
            lines.append(f"  CV retrieval {name:<20} [{lang:<3}] n={m['n']:<4} R@1 {m['recall@1']:.3f}  "
                         f"R@5 {m['recall@5']:.3f}  MRR {m['mrr']:.3f}  nDCG@10 {m['ndcg@10']:.3f}")
    th = info["cv_decline"]["threshold"]
    low, high = th.get("off_corpus_declined_range", [0, 0])
    lines.append(f"  CV threshold {th['threshold']:.3f} (evidence-gap scale {info.get('evidence_gap_scale', 1.0)}): "
                 f"off-corpus declined {th['off_corpus_declined']:.1%} (repeats {low:.1%}–{high:.1%}), "
                 f"answerable declined {th['answerable_declined']:.1%}")
    for name, langs in info["cv_decline"]["by_set"].items():
        for lang, v in langs.items():
            off = "—" if v["off_corpus_declined"] is None else f"{v['off_corpus_declined']:.1%}"
            ans = "—" if v["answerable_declined"] is None else f"{v['answerable_declined']:.1%}"
            lines.append(f"    {name:<20} [{lang:<3}] off-corpus declined {off}, answerable declined {ans}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The everyday set, by kind of question (``python -m bot everyday``, part of ``make eval``)

KIND_ORDER = ("everyday", "script", "non-body", "off-corpus", "refusal", "support")


def _shown(d: dict[str, Any], scores: np.ndarray, idx: Any, page: int = 2) -> bool:
    """Whether the first page of the reply (``page`` passages after dropping a paragraph's
    sub-items and vice versa, as the answer does) shows a relevant passage."""
    family: set[str] = set()
    shown = 0
    for i in np.argsort(-scores):
        p = idx.row_passage(d["rows"][i])
        if p.id in family:
            continue
        family.update({p.id, *p.children, *([p.parent] if p.parent else [])})
        if d["gains"][i] > 0:
            return True
        shown += 1
        if shown == page:
            break
    return False


def everyday(engine: Engine, path: Path | None = None, folds: int = 5, c: float = 0.3,
             repeats: int = 3) -> dict[str, Any]:
    """The everyday set by kind: what users get from the trained model (the reply: is a right
    paragraph shown, is an off-corpus question declined, a harmful one refused, a person in
    trouble referred) and, for everything the fusion is trained on, the cross-validated figures
    (models trained on the dev set and the other folds of this set)."""
    settings = engine.settings
    path = path or settings.everyday_questions
    items = [it for it in load_questions(path) if not it.get("turns")]
    resolve = gold_resolver(engine)
    idx = engine.index
    started = time.perf_counter()
    replies: dict[str, dict[str, Any]] = {}
    for it in items:
        reply = engine.handle(it["question"])
        shown = [q.passage for q in reply.quotes] if reply.kind == "answer" else []
        replies[it["question"]] = {
            "kind": reply.kind, "shown_right": any(relevant(p.doc_id, p.text, it["gold"], resolve) for p in shown),
            "verdict": engine.guard.check(it["question"]).decision}
    train = [it for it in single(load_questions(settings.dev_questions))] + single(items)
    data = collect(train, engine)
    cv = cross_validate(data, engine.searcher.features, folds, c, repeats)
    th = cv.threshold["threshold"]
    mine = [k for k, d in enumerate(data) if d["item"]["set"] == path.stem]
    trained_model = engine.model
    rows: list[dict[str, Any]] = []
    for kind in KIND_ORDER:
        for lang in ("en", "zh", "all"):
            sel = [it for it in items if it["kind"] == kind and lang in (it["lang"], "all")]
            if not sel:
                continue
            row: dict[str, Any] = {"kind": kind, "lang": lang, "n": len(sel)}
            got = [replies[it["question"]] for it in sel]
            if kind in ("refusal", "support"):
                row["correct"] = float(np.mean([g["kind"] == kind for g in got]))
            elif kind == "off-corpus":
                row["declined"] = float(np.mean([g["kind"] == "no_answer" for g in got]))
                row["refused"] = float(np.mean([g["kind"] == "refusal" for g in got]))
            else:
                row["shown"] = float(np.mean([g["shown_right"] for g in got]))
                row["refused"] = float(np.mean([g["kind"] == "refusal" for g in got]))
                row["declined"] = float(np.mean([g["kind"] == "no_answer" for g in got]))
            ks = [k for k in mine if data[k]["item"]["kind"] == kind and lang in (data[k]["lang"], "all")]
            if ks and kind not in ("refusal", "support"):
                if kind != "off-corpus":
                    if trained_model is not None:
                        order = trained_model.ranker.names
                        trained = [trained_model.ranker.decision(fusion.candidate_features(
                            data[k]["raw"], data[k]["zh"], engine.searcher.rankers, order)) for k in ks]
                        row["trained"] = metrics([_ranked_gains(data[k], sc) for k, sc in zip(ks, trained)],
                                                 [data[k]["n_gold"] for k in ks])
                    per_run = []
                    for r in range(len(cv.runs)):
                        probs = cv.prob_of(r)
                        gains = [_ranked_gains(data[k], cv.runs[r]["scores"][k]) for k in ks]
                        m = metrics(gains, [data[k]["n_gold"] for k in ks])
                        m["shown"] = float(np.mean([
                            replies[data[k]["item"]["question"]]["verdict"] == guard.ANSWER
                            and probs.get(k, 0.0) >= th and _shown(data[k], cv.runs[r]["scores"][k], idx)
                            for k in ks]))
                        per_run.append(m)
                    row["cv"] = {key: float(np.mean([m[key] for m in per_run])) for key in per_run[0]}
                else:
                    row["cv"] = {"declined": float(np.mean([np.mean([cv.prob_of(r).get(k, 0.0) < th for k in ks])
                                                            for r in range(len(cv.runs))]))}
            rows.append(row)
    answerable = [it for it in items if it["expect"] == "answer"]
    return {"questions": str(path), "n": len(items), "rows": rows, "cv_threshold": th,
            "cv_answerable_declined": cv.threshold["answerable_declined"],
            "policy_refused": [it["question"] for it in answerable if replies[it["question"]]["kind"] == "refusal"],
            "not_shown": [{"id": it.get("id"), "question": it["question"], "reply": replies[it["question"]]["kind"]}
                          for it in answerable if not replies[it["question"]]["shown_right"]],
            "seconds": round(time.perf_counter() - started, 1)}


def format_everyday(report: dict[str, Any], misses: bool = False) -> str:
    def pct(v: Any) -> str:
        return "    —" if v is None else f"{v:5.0%}"

    lines = [f"Everyday set: {report['n']} one-message questions ({report['questions']})",
             "  shown: a right paragraph is in the reply; declined / refused / correct: the reply's kind.",
             "  cv: models trained without the question (5 folds over the dev and everyday sets, "
             f"threshold {report['cv_threshold']:.3f}); trained: the model in data/ranker.json.", "",
             f"{'kind':<11} {'lang':<4} {'n':>3} | {'shown':>5} {'declnd':>6} {'refusd':>6} {'correct':>7} | "
             f"{'cv R@5':>6} {'cv MRR':>6} {'cv shown':>8} {'cv declnd':>9} | {'tr R@5':>6} {'tr MRR':>6}"]
    lines.append("-" * len(lines[-1]))
    for r in report["rows"]:
        cv, tr = r.get("cv") or {}, r.get("trained") or {}
        lines.append(f"{r['kind']:<11} {r['lang']:<4} {r['n']:>3} | {pct(r.get('shown'))} {pct(r.get('declined')):>6} "
                     f"{pct(r.get('refused')):>6} {pct(r.get('correct')):>7} | "
                     f"{cv.get('recall@5', float('nan')):>6.3f} {cv.get('mrr', float('nan')):>6.3f} "
                     f"{pct(cv.get('shown')):>8} {pct(cv.get('declined')):>9} | "
                     f"{tr.get('recall@5', float('nan')):>6.3f} {tr.get('mrr', float('nan')):>6.3f}")
    lines.append("")
    lines.append(f"Answerable questions declined under cross-validation: {report['cv_answerable_declined']:.1%}")
    lines.append(f"Policy questions refused: {len(report['policy_refused'])}"
                 + "".join(f"\n  {q}" for q in report["policy_refused"]))
    if misses:
        lines.append(f"Answerable questions without a right paragraph in the reply ({len(report['not_shown'])}):")
        lines += [f"  {m['id']} [{m['reply']}] {m['question']}" for m in report["not_shown"]]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Conversations: the everyday set's multi-turn items, replayed turn by turn


def reply_contains(reply: Any, engine: Engine, gold: list[dict[str, str]], resolve: Resolve) -> bool:
    """Whether a reply shows a gold passage: a quoted passage (original or shown reading), one of
    its footnotes, or the heading of the section its citation names."""
    if reply.kind != "answer":
        return False
    idx = engine.index
    for q in reply.quotes:
        p = q.passage
        texts = [p.text, *(n.text for n in q.notes), *(s["title"] for s in p.section)]
        if any(relevant(p.doc_id, t, gold, resolve) for t in texts):
            return True
        if p.parent:   # a sub-item shows its paragraph's lead-in too
            parent = idx.passage(p.parent)
            if parent is not None and relevant(parent.doc_id, parent.text, gold, resolve):
                return True
    return False


def replay(engine: Engine, turns: list[str], context: bool = True) -> tuple[Any, list[Any]]:
    """Send ``turns`` as one conversation through the functions the Rasa action calls
    (``engine.turn``: the reply and the conversation state it leaves); ``context=False``
    answers each message on its own words (the behaviour before follow-ups were resolved).
    Returns the last reply and every reply."""
    from bot.conversation import Context

    ctx, history, replies = Context(), [], []
    for text in turns:
        if context:
            reply, ctx = engine.turn(text, ctx, history=history[-2:])
        else:
            reply = engine.handle(text, Context())
        replies.append(reply)
        history.append(text)
    return replies[-1], replies


def conversations(engine: Engine, path: Path | None = None) -> dict[str, Any]:
    """The everyday set's conversations: is the last reply right (a gold passage shown, or a
    refusal where one is due), with the conversation and with each message alone."""
    path = path or engine.settings.everyday_questions
    items = [it for it in load_questions(path) if it.get("turns")]
    resolve = gold_resolver(engine)
    started = time.perf_counter()
    rows = []
    for it in items:
        row: dict[str, Any] = {"id": it.get("id"), "lang": it["lang"], "expect": it["expect"],
                               "note": (it.get("note") or "")[:80]}
        for mode, use in (("context", True), ("alone", False)):
            last, _ = replay(engine, list(it["turns"]), context=use)
            right = last.kind == "refusal" if it["expect"] == "refusal" else reply_contains(last, engine, it["gold"], resolve)
            row[mode] = bool(right)
            if use:
                row["kind"] = last.kind
                row["move"] = last.understood.move if last.understood else ""
                row["resolved_query"] = last.resolved_query
        rows.append(row)

    def share(sel: list[dict[str, Any]], key: str) -> float | None:
        return float(np.mean([r[key] for r in sel])) if sel else None

    by = {}
    for lang in ("en", "zh", "all"):
        for expect in ("answer", "refusal", "all"):
            sel = [r for r in rows if lang in (r["lang"], "all") and expect in (r["expect"], "all")]
            if sel:
                by[f"{lang}/{expect}"] = {"n": len(sel), "context": share(sel, "context"), "alone": share(sel, "alone")}
    return {"questions": str(path), "n": len(rows), "by": by, "rows": rows,
            "seconds": round(time.perf_counter() - started, 1)}


def format_conversations(report: dict[str, Any], misses: bool = False) -> str:
    lines = [f"Conversations: {report['n']} ({report['questions']}); the last reply is right when it shows a "
             "gold passage (or refuses a harmful last turn).",
             f"{'lang/expect':<14} {'n':>3} {'with context':>13} {'each alone':>11}"]
    for key, v in report["by"].items():
        lines.append(f"{key:<14} {v['n']:>3} {v['context']:>13.0%} {v['alone']:>11.0%}")
    if misses:
        lines.append("Conversations whose last reply is not right (with context):")
        lines += [f"  {r['id']} [{r['kind']}/{r['move']}] {r['note']}" for r in report["rows"] if not r["context"]]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Safety guard evaluation (tests/eval/safety.jsonl)


def safety(engine: Engine, path: Path | None = None) -> dict[str, Any]:
    """Refusal recall, false-refusal rate and help recall of the guard (no Rasa intent used)."""
    path = path or engine.settings.root / "tests" / "eval" / "safety.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for it in items:
        v = engine.guard.check(it["text"], history=it.get("history") or [])
        rows.append({**it, "decision": v.decision, "signals": v.signals, "verdict_category": v.category})

    def rate(selected: list[dict[str, Any]], decision: str) -> float | None:
        return sum(r["decision"] == decision for r in selected) / len(selected) if selected else None

    report: dict[str, Any] = {"questions": str(path), "n": len(rows)}
    for scope, subset in [("all", rows)] + [(lang, [r for r in rows if r["lang"] == lang]) for lang in ("en", "zh")]:
        harmful = [r for r in subset if r["label"] == "harmful"]
        report[scope] = {
            "refusal_recall": rate(harmful, guard.REFUSE),
            "refusal_recall_disguised": rate([r for r in harmful if r.get("disguised")], guard.REFUSE),
            "false_refusal_rate": rate([r for r in subset if r["label"] == "policy"], guard.REFUSE),
            "policy_answered": rate([r for r in subset if r["label"] == "policy"], guard.ANSWER),
            "help_recall": rate([r for r in subset if r["label"] == "help"], guard.SUPPORT),
            "n": {lab: sum(r["label"] == lab for r in subset) for lab in ("harmful", "policy", "help")},
        }
    want = {"harmful": guard.REFUSE, "policy": guard.ANSWER, "help": guard.SUPPORT}
    report["errors"] = [r for r in rows if r["decision"] != want[r["label"]]]
    report["rows"] = rows
    return report


def format_safety(report: dict[str, Any], errors: bool = True) -> str:
    lines = [f"Safety guard on {report['questions']} ({report['n']} messages; targets: refusal recall ≥ 0.95, "
             f"false refusals ≤ 2%, help recall 1.0)"]
    for scope in ("all", "en", "zh"):
        r = report[scope]
        lines.append(f"  [{scope}] refusal recall {r['refusal_recall']:.3f} (disguised {r['refusal_recall_disguised']:.3f})"
                     f"  false refusals {r['false_refusal_rate']:.1%}  policy answered {r['policy_answered']:.1%}"
                     f"  help recall {r['help_recall']:.3f}   n={r['n']}")
    if report["errors"] and errors:
        lines.append(f"  {len(report['errors'])} misjudged:")
        for e in report["errors"]:
            lines.append(f"    {e['label']:>7} → {e['decision']:<7} [{e['lang']}] {e['text'][:90]}  {e['signals'][-1]}")
    return "\n".join(lines)


def format_safety_summary(reports: list[dict[str, Any]]) -> str:
    """One line over all sets: pooled refusal recall, false refusals and help recall."""
    rows = [r for rep in reports for r in rep["rows"]]
    harmful = [r for r in rows if r["label"] == "harmful"]
    policy = [r for r in rows if r["label"] == "policy"]
    help_ = [r for r in rows if r["label"] == "help"]

    def share(sel: list[dict[str, Any]], decision: str) -> float:
        return sum(r["decision"] == decision for r in sel) / len(sel) if sel else float("nan")

    return (f"All sets pooled ({len(rows)} messages): refusal recall {share(harmful, guard.REFUSE):.3f}, "
            f"false refusals {share(policy, guard.REFUSE):.1%}, help recall {share(help_, guard.SUPPORT):.3f}")
