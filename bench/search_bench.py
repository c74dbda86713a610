"""Search benchmark (``make bench``): warm query latency, index build time, memory, and a
synthetic scale run showing how latency and memory grow and when FAISS switches to HNSW.

Prints percentiles and ratios; writes bench/out/search.json. Figures are recorded in
docs/performance.md. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# every question is asked several times: with the query-embedding cache on, later rounds would
# time cache hits, so it is off and each search encodes its query
os.environ["BOT_EMBED_CACHE"] = "0"

from bot import config, evaluate, index, readings  # noqa: E402
from bot.engine import Engine  # noqa: E402


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p)) if values else float("nan")


def time_queries(questions: list[str], engine: Engine, rounds: int) -> dict[str, float]:
    """Warm latency of ``Engine.search`` per query (ms), after one warm-up pass."""
    for q in questions[:20]:
        engine.search(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            engine.search(q)
            times.append((time.perf_counter() - t) * 1000)
    return {"n": len(times), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "p99_ms": pct(times, 99),
            "mean_ms": float(np.mean(times))}


class Stages:
    """Exclusive wall time per search stage: functions are wrapped (in this process only) and
    each records its time minus the time of the wrapped stages it called."""

    def __init__(self) -> None:
        self.per_query: list[dict[str, float]] = []
        self._stack: list[list[float]] = []
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, attr: str, name: str | None = None, key=None) -> None:  # type: ignore[no-untyped-def]
        original = getattr(owner, attr)
        stages = self

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            stage = key(*args) if key else name
            stages._stack.append([0.0])
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t
                children = stages._stack.pop()[0]
                if stages._stack:
                    stages._stack[-1][0] += spent
                current = stages.per_query[-1]
                current[stage] = current.get(stage, 0.0) + (spent - children) * 1000

        self._undo.append((owner, attr, original))
        setattr(owner, attr, timed)

    def restore(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()


def stage_profile(engine: Engine, questions: list[str]) -> dict[str, dict[str, float]]:
    """Per-stage p50/p95 (ms per query, exclusive) of warm searches, and each stage's share of
    the total time (the whole: ``Searcher.search``)."""
    from bot import evidence, fusion, rankers, search

    models = engine.index.models
    stages = Stages()
    stages.wrap(search.Searcher, "search", "other (search, hits)")
    stages.wrap(search.Searcher, "prepare", "query analysis")
    stages.wrap(engine.searcher, "encode", key=lambda model, text: "encode USE" if model == 0 else
                f"encode {'e5' if 'e5' in models[model] else models[model]}")
    stages.wrap(rankers.Dense, "run", "FAISS passages")
    stages.wrap(rankers.Sentences, "run", "FAISS sentences/questions")
    stages.wrap(rankers.Lexical, "run", "BM25")
    stages.wrap(search.Searcher, "retrieve", "candidates (exact scores, signals)")
    stages.wrap(fusion, "candidate_features", "fusion features")
    stages.wrap(fusion.Linear, "decision", "fusion model")
    stages.wrap(evidence, "coverage", "evidence checks")
    stages.wrap(search.Searcher, "confidence", "confidence")
    stages.wrap(search.Searcher, "highlights", "highlights")
    try:
        for q in questions[:20]:
            stages.per_query.append({})
            engine.search(q)
        stages.per_query.clear()
        totals = []
        for q in questions:
            stages.per_query.append({})
            t = time.perf_counter()
            engine.search(q)
            totals.append((time.perf_counter() - t) * 1000)
    finally:
        stages.restore()
    names = sorted({n for d in stages.per_query for n in d})
    whole = float(np.sum(totals))
    out = {}
    for n in names:
        v = [d.get(n, 0.0) for d in stages.per_query]
        out[n] = {"p50_ms": pct(v, 50), "p95_ms": pct(v, 95), "share": float(np.sum(v)) / whole}
    out["total"] = {"p50_ms": pct(totals, 50), "p95_ms": pct(totals, 95), "share": 1.0}
    return out


def time_encoder(encoder, questions: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for q in questions[:10]:
        encoder.encode([q])
    times = []
    for q in questions:
        t = time.perf_counter()
        encoder.encode([q])
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def real_corpus(rounds: int, build: bool = True) -> dict[str, object]:
    settings = config.settings()
    questions = [it["question"] for it in evaluate.load_questions(settings.dev_questions)]
    out: dict[str, object] = {"questions": len(questions), "rounds": rounds}
    rss0 = rss_mb()

    # full configuration (default): build from scratch in a temporary folder to time it
    if build:
        with tempfile.TemporaryDirectory() as tmp:
            s_full = dataclasses.replace(settings, index_dir=Path(tmp) / "index")
            t = time.perf_counter()
            index.build(s_full, progress=False)
            out["build_full_s"] = round(time.perf_counter() - t, 2)
    out["rss_after_build_mb"] = round(rss_mb(), 1)
    engine = Engine(settings)
    idx = engine.index
    out["passages"] = idx.manifest["searchable"]
    out["sentences"] = idx.manifest["sentences"]
    out["latency_full"] = time_queries(questions, engine, rounds)
    out["stages"] = stage_profile(engine, questions)
    out["encode_use"] = time_encoder(engine.encoder(idx.models[0]), questions)
    if len(idx.models) > 1:
        out["encode_e5"] = time_encoder(engine.encoder(idx.models[1]), questions)
    out["rss_full_mb"] = round(rss_mb(), 1)

    # fast configuration: the primary model only (no e5), RRF fusion
    with tempfile.TemporaryDirectory() as tmp:
        s_fast = dataclasses.replace(settings, index_dir=Path(tmp) / "index", extra_models=(), use_ranker=False)
        t = time.perf_counter()
        fast = Engine(s_fast, build_encoder_factory=lambda name: engine.encoder(name))
        fast.index  # noqa: B018 - builds it
        if build:
            out["build_fast_s"] = round(time.perf_counter() - t, 2)
        out["latency_fast"] = time_queries(questions, fast, rounds)
    out["rss_start_mb"] = round(rss0, 1)
    return out


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int = 2000) -> np.ndarray:
    """Unit vectors around random topic centres (embeddings are clustered; uniform noise is not)."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vecs = centres[rng.integers(0, clusters, n)] + 0.05 * rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs


def synthetic(sizes: list[int], dim: int, queries: int) -> list[dict[str, object]]:
    """Random unit vectors and Zipf-distributed tokens from the real vocabulary, at growing sizes."""
    settings = config.settings()
    engine = Engine(settings)
    vocab = sorted(engine.index.readings["original"].vocabulary()) or [f"w{i}" for i in range(5000)]
    rng = np.random.default_rng(0)
    ranks = np.arange(1, len(vocab) + 1)
    zipf = (1.0 / ranks) / (1.0 / ranks).sum()
    real_q = [engine.searcher.prepare(it["question"]).terms for it in evaluate.load_questions(settings.dev_questions)[:queries]]
    rows = []
    for n in sizes:
        gc.collect()
        base = rss_mb()
        vecs = clustered(rng, n, dim)
        t = time.perf_counter()
        faiss_index = readings.make_faiss_index(vecs, settings)
        build_vec = time.perf_counter() - t
        docs = [[vocab[i] for i in rng.choice(len(vocab), size=60, p=zipf)] for _ in range(n)]
        t = time.perf_counter()
        lex = readings.LexicalIndex(docs)
        build_lex = time.perf_counter() - t
        del docs
        gc.collect()
        mem = rss_mb() - base
        qv = vecs[rng.choice(n, size=queries, replace=False)] + 0.04 * rng.standard_normal((queries, dim)).astype(np.float32)
        qv /= np.linalg.norm(qv, axis=1, keepdims=True)
        dense_t, lex_t = [], []
        for i in range(queries):
            t = time.perf_counter()
            faiss_index.search(qv[i:i + 1], 50)
            dense_t.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            scores = lex.scores(real_q[i % len(real_q)])
            np.argpartition(-scores, 50)[:50]
            lex_t.append((time.perf_counter() - t) * 1000)
        recall = None
        if type(faiss_index).__name__ != "IndexFlatIP":
            import faiss

            exact = faiss.IndexFlatIP(dim)
            exact.add(vecs)
            _, truth = exact.search(qv[:50], 10)
            _, got = faiss_index.search(qv[:50], 10)
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)]))
            del exact
        rows.append({
            "passages": n, "faiss": type(faiss_index).__name__, "build_vectors_s": round(build_vec, 2),
            "build_bm25_s": round(build_lex, 2), "rss_delta_mb": round(mem, 1),
            "kb_per_passage": round(mem * 1024 / n, 2),
            "dense_p50_ms": round(pct(dense_t, 50), 3), "dense_p95_ms": round(pct(dense_t, 95), 3),
            "bm25_p50_ms": round(pct(lex_t, 50), 3), "bm25_p95_ms": round(pct(lex_t, 95), 3),
            "hnsw_recall@10": recall,
        })
        print(f"  {n:>7} passages: {rows[-1]}", flush=True)
        del vecs, faiss_index, lex
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000,50000,100000")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-build", action="store_true", help="do not time index builds")
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)

    print("Real corpus ...", flush=True)
    real = real_corpus(args.rounds, build=not args.skip_build)
    lf, ls = real["latency_full"], real["latency_fast"]  # type: ignore[index]
    print(f"  passages {real['passages']}, sentences {real['sentences']}")
    if "build_full_s" in real:
        print(f"  index build: full {real['build_full_s']} s, primary model only {real['build_fast_s']} s")
    print(f"  warm search latency, default (USE + e5 + BM25, learned fusion): p50 {lf['p50_ms']:.1f} ms, "
          f"p95 {lf['p95_ms']:.1f} ms, p99 {lf['p99_ms']:.1f} ms over {lf['n']} queries")
    print(f"  warm search latency, primary model only (USE + BM25, RRF):      p50 {ls['p50_ms']:.1f} ms, "
          f"p95 {ls['p95_ms']:.1f} ms  ({lf['p50_ms'] / ls['p50_ms']:.1f}x faster at p50)")
    print(f"  query encoding p50: USE {real['encode_use']['p50_ms']:.1f} ms"  # type: ignore[index]
          + (f", e5 {real['encode_e5']['p50_ms']:.1f} ms" if "encode_e5" in real else ""))  # type: ignore[index]
    print(f"  RSS: start {real['rss_start_mb']} MB, after loading and queries {real['rss_full_mb']} MB")
    stages = real["stages"]  # type: ignore[index]
    print("  stages of a warm search (exclusive ms per query; share of the whole search time):")
    for name, st in sorted(stages.items(), key=lambda kv: -kv[1]["share"]):
        print(f"    {name:<38} p50 {st['p50_ms']:6.2f}  p95 {st['p95_ms']:6.2f}  {st['share']:6.1%}")
    summary = {"search p50 ms": lf["p50_ms"], "search p95 ms": lf["p95_ms"],
               "search p50 ms, USE only (RRF)": ls["p50_ms"],
               "encode USE p50 ms": real["encode_use"]["p50_ms"]}  # type: ignore[index]
    if "encode_e5" in real:
        summary["encode e5 p50 ms"] = real["encode_e5"]["p50_ms"]  # type: ignore[index]
    for name, st in stages.items():
        summary[f"stage {name} p50 ms"] = st["p50_ms"]
        summary[f"stage {name} p95 ms"] = st["p95_ms"]
        summary[f"stage {name} share"] = st["share"]
    if "build_full_s" in real:
        summary["index build s"] = real["build_full_s"]  # type: ignore[assignment]
    summary["RSS MB"] = real["rss_full_mb"]  # type: ignore[assignment]
    report = {"machine": {"cpus": os.cpu_count()}, "real": real, "summary": summary}
    if not args.skip_scale:
        print("Synthetic scale run (random 512-d vectors, Zipf tokens from the corpus vocabulary) ...", flush=True)
        rows = synthetic([int(x) for x in args.sizes.split(",")], 512, 200)
        report["scale"] = rows
        first, last = rows[0], rows[-1]
        flat = [r for r in rows if r["faiss"] == "IndexFlatIP"][-1]
        print(f"  {last['passages'] // first['passages']}x more passages: dense p50 x"
              f"{last['dense_p50_ms'] / max(first['dense_p50_ms'], 1e-6):.1f} ({last['faiss']}, recall@10 "
              f"{last['hnsw_recall@10']}), BM25 p50 x{last['bm25_p50_ms'] / max(first['bm25_p50_ms'], 1e-6):.1f}; "
              f"exact search at {flat['passages']} passages p50 {flat['dense_p50_ms']} ms; "
              f"memory about {last['kb_per_passage']} KB per passage")
    (out_dir / "search.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"Wrote {out_dir / 'search.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
