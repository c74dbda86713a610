"""Adding a document (``make bench``): how long ``python -m bot add FILE.pdf`` takes, and how well an
English document is found by English and Chinese questions.

The documents added are English UN documents made from two corpus documents' unofficial
translations (``tests/office.py``: ``english_document``, then LibreOffice: a PDF with numbered
paragraphs, footnotes, running headers, page numbers): the Crime Congress background paper
A/CONF.234/11 (20 pages) and the trafficking working-group paper (22 pages). They are added, one
after the other, to a corpus of the three other documents, in a temporary folder with its own
index; the index cache of ``make index`` (``models/index-cache``) is copied in first, so the
three documents already there are not embedded again, as on a machine that has been running.

Figures: the whole command (process start, reading the PDF, parsing, embedding the new texts,
writing the index), the index update alone, seconds per page and the time of a full build for
comparison (``--full``; minutes). Then retrieval on the English documents: the dev and everyday
questions whose answer is in one of the two documents, asked in English and in Chinese, R@5 and
MRR against the same questions on the Chinese originals (the project's index). A passage is
relevant when it is the paragraph (or footnote) of the original that holds the gold answer: same
position in the document (passage id after the document id).

Writes ``bench/out/add.json`` (``summary``: flat figures). Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import config, evaluate, index  # noqa: E402
from bot.engine import Engine  # noqa: E402
from tests import office  # noqa: E402

ADDED = ("a-conf-234-11", "ctoc-trafficking-2021")


def make_pdfs(out: Path) -> dict[str, Path]:
    """The English PDF of each document of ``ADDED`` (file ``<id>-en.pdf``)."""
    sources = []
    for doc_id in ADDED:
        doc = office.english_document(doc_id)
        src = out / f"{doc_id}-en.fodt"
        src.write_text(office.fodt(doc, header=str(doc.meta.get("symbol") or "")), encoding="utf-8")
        sources.append(src)
    pdfs = office.convert_many(sources, "pdf", out)
    return dict(zip(ADDED, pdfs))


def corpus_without(target: Path, leave_out: tuple[str, ...]) -> Path:
    """A copy of the documents folder without ``leave_out`` (files, catalog entries, translations,
    question lists)."""
    src = config.settings().documents_dir
    shutil.copytree(src, target)
    for doc_id in leave_out:
        for path in [target / f"{doc_id}.txt", target / "en" / f"{doc_id}.yml", target / "questions" / f"{doc_id}.yml"]:
            path.unlink(missing_ok=True)
    catalog = yaml.safe_load((target / "catalog.yml").read_text(encoding="utf-8"))
    catalog["documents"] = [e for e in catalog["documents"] if e.get("id") not in leave_out]
    (target / "catalog.yml").write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def run_add(pdf: Path, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bot", "add", str(pdf)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bot add {pdf.name} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    manifest = json.loads((Path(env["BOT_INDEX_DIR"]) / "manifest.json").read_text(encoding="utf-8"))
    pages = next((int(line.split(" pages")[0].rsplit(", ", 1)[-1]) for line in proc.stdout.splitlines()
                  if " pages, language " in line), 0)
    return {"file": pdf.name, "pages": pages, "command_s": round(seconds, 2),
            "index_update_s": manifest.get("build_seconds"), "searchable": manifest.get("searchable"),
            "log": [line for line in proc.stderr.splitlines() if "Index written" in line][-1:]}


def gold_positions(engine: Engine, item: dict[str, Any]) -> dict[str, set[str]]:
    """Document id → passage positions (the id after ``doc:``) that hold the item's gold answers."""
    resolve = evaluate.gold_resolver(engine)
    out: dict[str, set[str]] = {}
    for p in engine.index.passages:
        if evaluate.relevant(p.doc_id, p.text, item["gold"], resolve):   # the evaluation's own relevance rule
            out.setdefault(p.doc_id, set()).add(p.id.split(":", 1)[1])
    return out


def retrieval(engine: Engine, items: list[tuple[dict[str, Any], dict[str, set[str]]]], doc_map: dict[str, str]
              ) -> dict[str, dict[str, float]]:
    """R@5 and MRR (top 10) per question language; ``doc_map``: original id → id in this index."""
    per: dict[str, list[float]] = {}
    hits: dict[str, list[float]] = {}
    searcher, idx = engine.searcher, engine.index
    for item, gold in items:
        want = {(doc_map.get(d, d), pos) for d, positions in gold.items() for pos in positions}
        # the ranking before the confidence decides whether to answer (as ``make eval`` ranks)
        cands = searcher.retrieve(searcher.prepare(item["question"]), None, engine.settings, learned=True)[:10]
        ranked = [(idx.row_passage(c.row).doc_id, idx.row_passage(c.row).id.split(":", 1)[1]) for c in cands]
        rank = next((i for i, key in enumerate(ranked, 1) if key in want), 0)
        lang = "zh" if item["lang"] == "zh" else "en"
        per.setdefault(lang, []).append(1.0 / rank if rank else 0.0)
        hits.setdefault(lang, []).append(1.0 if rank and rank <= 5 else 0.0)
    return {lang: {"n": len(v), "r5": round(sum(hits[lang]) / len(v), 3), "mrr": round(sum(v) / len(v), 3)}
            for lang, v in per.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--full", action="store_true", help="also time a full build of the same corpus (minutes)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "add.json"))
    args = ap.parse_args()
    if office.soffice() is None:
        print("LibreOffice is missing: run `make office` first", file=sys.stderr)
        return 2
    settings = config.settings()
    tmp = Path(tempfile.mkdtemp(prefix="add-bench-"))
    try:
        pdfs = make_pdfs(tmp)
        docs = corpus_without(tmp / "documents", ADDED)
        env = dict(os.environ, BOT_DOCUMENTS_DIR=str(docs), BOT_INDEX_DIR=str(tmp / "index"),
                   RASA_TELEMETRY_ENABLED="false")
        bench = dataclasses.replace(settings, documents_dir=docs, index_dir=tmp / "index")
        if settings.index_cache_dir.is_dir():   # what `make index` embedded (the three documents among it)
            shutil.copytree(settings.index_cache_dir, bench.index_cache_dir)
        t = time.perf_counter()
        index.build(bench, progress=False)
        start = {"three_documents_build_s": round(time.perf_counter() - t, 2)}
        adds = [run_add(pdfs[doc_id], env) for doc_id in ADDED]
        for a in adds:
            print(f"python -m bot add {a['file']} ({a['pages']} pages): {a['command_s']:.1f} s "
                  f"(index update {a['index_update_s']} s)")
        full: dict[str, Any] = {}
        if args.full:
            scratch = dataclasses.replace(bench, index_dir=tmp / "scratch")
            t = time.perf_counter()
            index.build(scratch, progress=False)
            full = {"full_build_s": round(time.perf_counter() - t, 2)}
            print(f"the same corpus built from nothing: {full['full_build_s']:.1f} s")

        # retrieval on the English documents against the Chinese originals
        original = Engine(settings)
        english = Engine(bench)
        doc_map = {doc_id: f"{doc_id}-en" for doc_id in ADDED}
        items = []
        for path in (settings.dev_questions, settings.everyday_questions):
            for item in evaluate.single(evaluate.load_questions(path)):
                if item["expect"] != "answer":
                    continue
                gold = gold_positions(original, item)
                if gold and set(gold) <= set(ADDED):
                    items.append((item, gold))
        before = retrieval(original, items, {})
        after = retrieval(english, items, doc_map)
        for lang in sorted(before):
            print(f"{lang} questions on these two documents (n={before[lang]['n']}): "
                  f"Chinese originals R@5 {before[lang]['r5']:.3f} MRR {before[lang]['mrr']:.3f}; "
                  f"English PDFs R@5 {after.get(lang, {}).get('r5', 0):.3f} MRR {after.get(lang, {}).get('mrr', 0):.3f}")
        pages = sum(a["pages"] for a in adds)
        seconds = sum(a["command_s"] for a in adds)
        summary = {
            **start, **full,
            **{f"add_{doc_id}_pages": a["pages"] for doc_id, a in zip(ADDED, adds)},
            **{f"add_{doc_id}_s": a["command_s"] for doc_id, a in zip(ADDED, adds)},
            **{f"add_{doc_id}_index_update_s": a["index_update_s"] for doc_id, a in zip(ADDED, adds)},
            "add_s_per_page": round(seconds / max(1, pages), 3),
            "add_30_pages_estimate_s": round(30 * seconds / max(1, pages), 1),
            **{f"{lang}_r5_original": v["r5"] for lang, v in before.items()},
            **{f"{lang}_r5_english_pdf": v["r5"] for lang, v in after.items()},
            **{f"{lang}_mrr_original": v["mrr"] for lang, v in before.items()},
            **{f"{lang}_mrr_english_pdf": v["mrr"] for lang, v in after.items()},
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"summary": summary, "adds": adds, "retrieval": {"original": before, "english_pdf": after},
                                   "questions": len(items)}, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"30 pages ≈ {summary['add_30_pages_estimate_s']} s ({summary['add_s_per_page']} s per page); written to {out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
