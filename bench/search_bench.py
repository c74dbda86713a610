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


def time_encoder(encoder, questions: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for q in questions[:10]:
        encoder.encode([q])
    times = []
    for q in questions:
        t = time.perf_counter()
        encoder.encode([q])
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def real_corpus(rounds: int) -> dict[str, object]:
    settings = config.settings()
    questions = [it["question"] for it in evaluate.load_questions(settings.dev_questions)]
    out: dict[str, object] = {"questions": len(questions), "rounds": rounds}
    rss0 = rss_mb()

    # full configuration (default): build from scratch in a temporary folder to time it
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
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)

    print("Real corpus ...", flush=True)
    real = real_corpus(args.rounds)
    lf, ls = real["latency_full"], real["latency_fast"]  # type: ignore[index]
    print(f"  passages {real['passages']}, sentences {real['sentences']}")
    print(f"  index build: full {real['build_full_s']} s, primary model only {real['build_fast_s']} s")
    print(f"  warm search latency, default (USE + e5 + BM25, learned fusion): p50 {lf['p50_ms']:.1f} ms, "
          f"p95 {lf['p95_ms']:.1f} ms, p99 {lf['p99_ms']:.1f} ms over {lf['n']} queries")
    print(f"  warm search latency, primary model only (USE + BM25, RRF):      p50 {ls['p50_ms']:.1f} ms, "
          f"p95 {ls['p95_ms']:.1f} ms  ({lf['p50_ms'] / ls['p50_ms']:.1f}x faster at p50)")
    print(f"  query encoding p50: USE {real['encode_use']['p50_ms']:.1f} ms"  # type: ignore[index]
          + (f", e5 {real['encode_e5']['p50_ms']:.1f} ms" if "encode_e5" in real else ""))  # type: ignore[index]
    print(f"  RSS: start {real['rss_start_mb']} MB, after loading and queries {real['rss_full_mb']} MB")
    report = {"machine": {"cpus": os.cpu_count()}, "real": real}
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
