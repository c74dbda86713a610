"""Command line: ``python -m bot search|ask|index|corpus|eval|tune|safety|web|...``.

The CLI makes one ``Engine`` (``bot/engine.py``) and calls the same functions as the Rasa
action and the tests. Exit codes: 0 ok, 1 failure, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TextIO

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import config  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover - typing only
    from bot.engine import Engine


def _print_json(obj: Any, out: TextIO, compact: bool = False) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, indent=None if compact else 2) + "\n")
    out.flush()


def _wrap(text: str, indent: str = "    ", width: int = 100) -> str:
    lines = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, width=width, initial_indent=indent, subsequent_indent=indent) or [indent]
    return "\n".join(lines)


def format_results(resp: dict[str, Any]) -> str:
    """Readable terminal output: citation first, then the passage with its best sentence marked."""
    out = []
    if resp.get("notice"):
        out.append(f"Note: {resp['notice']}")
    if resp["status"] != "ok":
        out.append(f"No answer in the documents (confidence {resp['confidence']:.2f}).")
        return "\n".join(out)
    out.append(f"[{resp['lang']}] confidence {resp['confidence']:.2f}")
    for i, r in enumerate(resp["results"], 1):
        text = r["text"]
        for h in sorted(r["highlights"], key=lambda h: -h["start"]):
            text = text[: h["start"]] + "»" + text[h["start"]: h["end"]] + "«" + text[h["end"]:]
        out.append("")
        out.append(f"{i}. {r['citation']}  (id {r['id']}, score {r['score']:.3f})")
        out.append(_wrap(text))
        for note in r["footnotes"]:
            out.append(_wrap(f"[{note['number']}] {note['text']}", indent="      "))
    return "\n".join(out)


def _queries(source: str) -> Iterator[str]:
    stream = sys.stdin if source == "-" else open(source, encoding="utf-8", errors="replace")
    try:
        for line in stream:
            yield line.rstrip("\n")
    finally:
        if stream is not sys.stdin:
            stream.close()


def _engine() -> "Engine":
    from bot.engine import Engine

    return Engine(config.settings(), progress=True)


def cmd_search(args: argparse.Namespace) -> int:
    from bot.query import EmptyQuery

    engine = _engine()
    if args.batch:
        if args.batch != "-" and not Path(args.batch).is_file():
            print(f"error: batch file not found: {args.batch}", file=sys.stderr)
            return 2
        engine.searcher  # noqa: B018 - load before reading the first line
        for line in _queries(args.batch):
            try:
                resp = engine.search(line, top_k=args.top_k, doc=args.doc).to_dict(engine.index)
            except EmptyQuery:
                resp = {"query": line, "lang": "", "status": "error", "error": "empty query", "results": []}
            _print_json(resp, sys.stdout, compact=True)
        return 0
    query = " ".join(args.query or [])
    if not query.strip():
        print("error: empty query. Usage: python -m bot search \"QUESTION\"", file=sys.stderr)
        return 2
    try:
        resp = engine.search(query, top_k=args.top_k, doc=args.doc).to_dict(engine.index)
    except EmptyQuery:
        print("error: the query has no words to search for", file=sys.stderr)
        return 2
    if args.json:
        _print_json(resp, sys.stdout)
    else:
        print(format_results(resp))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """The assistant's answer payload (what the Rasa action sends), without Rasa."""
    from bot import lang
    from bot.query import EmptyQuery
    from bot.reply import Reply

    engine = _engine()

    def one(question: str) -> dict[str, Any]:
        try:
            return engine.handle(question, doc=args.doc).to_payload()
        except EmptyQuery:
            return Reply("info", lang.reply_lang(question), data={"error": "empty query"}).to_payload()

    if args.batch:
        if args.batch != "-" and not Path(args.batch).is_file():
            print(f"error: batch file not found: {args.batch}", file=sys.stderr)
            return 2
        engine.searcher  # noqa: B018 - load before reading the first line
        for line in _queries(args.batch):
            _print_json(one(line), sys.stdout, compact=True)
        return 0
    question = " ".join(args.question or [])
    if not question.strip():
        print('error: empty question. Usage: python -m bot ask "QUESTION"', file=sys.stderr)
        return 2
    result = one(question)
    if args.json:
        _print_json(result, sys.stdout)
    else:
        print(result["text"])
    return 0


def _rasa_chat(url: str) -> int:
    """Talk to a running Rasa server over REST; numbers press the last reply's buttons."""
    import urllib.error
    import urllib.request
    import uuid

    sender = "terminal-" + uuid.uuid4().hex[:8]
    endpoint = url.rstrip("/") + "/webhooks/rest/webhook"
    print(f"Connected to {url}. Ask in English or Chinese; a number presses a button; empty line quits.")
    buttons: list[dict[str, str]] = []
    while True:
        try:
            line = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if not line:
            return 0
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = buttons[int(line) - 1]["payload"]
        body = json.dumps({"sender": sender, "message": line}).encode()
        headers = {"Content-Type": "application/json"}
        if os.environ.get("REST_TOKEN"):   # the REST channel's token, when one is set (docs/channels.md)
            headers["Authorization"] = f"Bearer {os.environ['REST_TOKEN']}"
        request = urllib.request.Request(endpoint, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:
                replies = json.loads(resp.read().decode())
        except (urllib.error.URLError, OSError) as exc:
            print(f"error: the assistant at {url} is not reachable ({exc}); start it with 'make start'.")
            continue
        buttons = []
        for r in replies:
            if "text" in r:
                print("\n" + r["text"])
            for b in r.get("buttons") or []:
                buttons.append(b)
                print(f"  [{len(buttons)}] {b['title']}")


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal without Rasa: the replies the action gives, follow-ups
    read with what was said before (``--search``: the raw search results instead). Empty line
    or Ctrl-D quits."""
    from bot.conversation import Context
    from bot.query import EmptyQuery

    if args.rasa:
        return _rasa_chat(args.rasa)

    engine = _engine()
    engine.searcher  # noqa: B018
    print("Ask about the documents in English or Chinese. Empty line to quit.")
    ctx, history = Context(), []
    while True:
        try:
            line = input("\n? ").strip()
        except EOFError:
            print()
            return 0
        if not line:
            return 0
        try:
            if args.search:
                print(format_results(engine.search(line, top_k=args.top_k).to_dict(engine.index)))
                continue
            reply, ctx = engine.turn(line, ctx, history=history[-2:])
            print(reply.text)
            history.append(line)
        except EmptyQuery:
            print("Please type a question.")


def cmd_index(args: argparse.Namespace) -> int:
    from bot import corpus, index

    settings = config.settings()
    state, manifest = index.status(settings)
    if state == "current" and not args.rebuild:
        print(f"Index is up to date ({manifest['searchable']} passages, model {manifest['model']}, "
              f"built {manifest['built_at']}).")
        return 0
    try:
        idx = index.build(settings, progress=True)
    except corpus.ParseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if state != "missing":
            print("The previous index is unchanged and still used.", file=sys.stderr)
        return 1
    for doc_id, warnings in idx.manifest.get("warnings", {}).items():
        for w in warnings:
            print(f"note: {doc_id}: {w}", file=sys.stderr)
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from bot import corpus
    from bot.documents import Catalog

    corp = corpus.load_corpus()
    for err in corp.errors:
        print(f"error: {err}", file=sys.stderr)
    if args.show:
        p = corp.passage(args.show)
        if p is None:
            print(f"error: no passage with id {args.show!r}", file=sys.stderr)
            return 2
        if args.json:
            _print_json(p.to_dict(), sys.stdout)
        else:
            from bot import cite
            doc = corp.document(p.doc_id)
            print(cite.citation(p, doc.meta, "en"))
            print(_wrap(p.text))
            for fid in p.footnotes:
                note = corp.passage(fid)
                if note:
                    print(_wrap(f"[{cite.note_label(fid)}] {note.text}", indent="      "))
        return 0
    docs = corp.documents
    if args.doc:
        doc_id = Catalog.from_list(d.meta for d in corp.documents).resolve(args.doc)
        doc = corp.document(doc_id) if doc_id else None
        if doc is None:
            print(f"error: unknown document {args.doc!r}", file=sys.stderr)
            return 2
        docs = [doc]
    for doc in docs:
        kinds: dict[str, int] = {}
        for p in doc.passages:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        if args.json:
            _print_json({"meta": doc.meta, "kinds": kinds, "warnings": doc.warnings,
                         "passages": [p.to_dict() for p in doc.passages] if args.doc else None}, sys.stdout)
            continue
        print(f"{doc.id}  {doc.meta.get('symbol') or '-'}  {doc.meta.get('title_en') or doc.meta.get('title')}")
        print(f"    {', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}")
        for w in doc.warnings:
            print(f"    note: {w}")
        if args.doc:
            for p in doc.passages:
                sec = " › ".join((s["num"] + " " if s["num"] else "") + s["title"] for s in p.section)
                print(f"  {p.id:<32} {p.kind:<9} {sec[:40]:<40} {p.text[:50]!r}")
    return 0 if not corp.errors else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from bot import evaluate

    path = Path(args.questions) if args.questions else None
    systems = tuple(args.systems.split(",")) if args.systems else None
    report = evaluate.evaluate(_engine(), path, systems=systems)
    print(evaluate.format_report(report))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def cmd_everyday(args: argparse.Namespace) -> int:
    """The everyday set by kind of question (reply level, cross-validated)."""
    from bot import evaluate

    path = Path(args.questions) if args.questions else None
    report = evaluate.everyday(_engine(), path, repeats=args.repeats)
    print(evaluate.format_everyday(report, misses=args.verbose))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    """The everyday set's conversations, replayed turn by turn (with and without context)."""
    from bot import evaluate

    path = Path(args.questions) if args.questions else None
    report = evaluate.conversations(_engine(), path)
    print(evaluate.format_conversations(report, misses=args.verbose))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def cmd_safety(args: argparse.Namespace) -> int:
    """Guard metrics on tests/eval/safety.jsonl and every red-team set beside it."""
    from bot import evaluate

    root = config.settings().root / "tests" / "eval"
    paths = [Path(p) for p in args.files] or [root / "safety.jsonl", *sorted(root.glob("safety-redteam-*.jsonl"))]
    engine = _engine()
    reports = [evaluate.safety(engine, p) for p in paths]
    for report in reports:
        print(evaluate.format_safety(report, errors=args.verbose))
    print(evaluate.format_safety_summary(reports))
    if args.out:
        Path(args.out).write_text(json.dumps(reports, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    """Serve the chat page, presenter view and JSON API (Sanic, one process) until interrupted."""
    from bot import web

    settings = config.settings()
    host = args.host or settings.web_host
    port = settings.web_port if args.port is None else args.port
    try:
        sock = web.listen(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port} ({exc.strerror or exc}); set WEB_PORT or --port", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    print(f"Web page on http://localhost:{port}/ (presenter view: /presenter), talking to Rasa at {settings.rasa_url}",
          flush=True)
    try:
        web.run(sock, settings)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    """Which messaging channels the environment enables; with --write, Rasa's credentials file."""
    from bot import channels

    try:
        if args.write:
            enabled = channels.write(Path(args.write))
            names = ", ".join(c.name for c in enabled) or "none"
            print(f"Wrote {args.write}: rest, socket.io; messengers: {names}")
        else:
            channels.enabled()
            print("\n".join(channels.status()))
    except channels.ChannelConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("\n".join(channels.status()), file=sys.stderr)
        return 1
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete conversations older than --days from the tracker store."""
    from bot import retention

    try:
        done = retention.purge(args.days, Path(args.db) if args.db else None, dry_run=args.dry_run)
    except retention.RetentionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "Would delete" if args.dry_run else "Deleted"
    print(f"{verb} {done.conversations} conversation(s) ({done.events} events) idle for more than {args.days:g} days; "
          f"{done.kept} kept.")
    return 0


def cmd_insights(args: argparse.Namespace) -> int:
    """What the room asked and how it was answered, from the tracker store (bot/insights.py)."""
    from bot import insights

    try:
        report = insights.report(args.db or None, since=args.since, texts=not args.no_texts)
    except insights.InsightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if "--since" not in str(exc) else 2
    if args.format == "json":
        _print_json(report.to_dict(), sys.stdout)
    elif args.format == "csv":
        sys.stdout.write(insights.to_csv(report))
    else:
        sys.stdout.write(insights.to_table(report))
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from bot import evaluate

    paths = [Path(q) for q in args.questions] if args.questions else None
    info = evaluate.tune(_engine(), paths, c=args.c, write=not args.dry_run)
    print(evaluate.format_tune(info))
    if not args.dry_run:
        print(f"\nWrote {config.settings().ranker_path}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from bot import adding

    docs = Path(args.documents_dir) if args.documents_dir else None
    return adding.main(args.files, docs, dry_run=args.check, index=not args.no_index)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Policy Assistant search engine")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("search", help="search the documents")
    s.add_argument("query", nargs="*", help="the question (English or Chinese)")
    s.add_argument("--top-k", type=int, default=None, help="number of passages (default 5)")
    s.add_argument("--doc", help="only this document (id, symbol or file name)")
    s.add_argument("--json", action="store_true", help="print the JSON result")
    s.add_argument("--batch", metavar="FILE", help="one query per line ('-' for stdin); JSON lines out")
    s.set_defaults(func=cmd_search)

    a = sub.add_parser("ask", help="the assistant's answer (text, or the JSON payload with --json)")
    a.add_argument("question", nargs="*")
    a.add_argument("--doc", help="only this document (id, symbol or file name)")
    a.add_argument("--json", action="store_true", help="print the payload the Rasa action sends")
    a.add_argument("--batch", metavar="FILE", help="one question per line ('-' for stdin); JSON lines out")
    a.set_defaults(func=cmd_ask)

    ch = sub.add_parser("chat", help="a conversation in the terminal (follow-ups understood), without Rasa")
    ch.add_argument("--search", action="store_true", help="print the raw search results instead of the replies")
    ch.add_argument("--top-k", type=int, default=3, help="results per question with --search")
    ch.add_argument("--rasa", metavar="URL", help="talk to a running Rasa server instead (e.g. http://127.0.0.1:5005)")
    ch.set_defaults(func=cmd_chat)

    i = sub.add_parser("index", help="build the search index if documents, model or glossary changed")
    i.add_argument("--rebuild", action="store_true", help="rebuild even if up to date")
    i.set_defaults(func=cmd_index)

    ad = sub.add_parser("add", help="add documents (.pdf, .docx, .html, .txt, .md) to the corpus with a proposed "
                                    "catalog entry (docs/documents.md) and update the index")
    ad.add_argument("files", nargs="*", help="the document files")
    ad.add_argument("--check", action="store_true", help="only read and check the files; write nothing")
    ad.add_argument("--no-index", action="store_true", help="add the files but leave the search index as it is "
                                                            "(review the catalog entries first; then make index)")
    ad.add_argument("--documents-dir", help="documents folder (default BOT_DOCUMENTS_DIR or data/documents)")
    ad.set_defaults(func=cmd_add)

    c = sub.add_parser("corpus", help="list documents and passages")
    c.add_argument("--doc", help="list the passages of one document")
    c.add_argument("--show", metavar="PARAGRAPH_ID", help="show one passage, e.g. a-conf-234-11:26")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_corpus)

    e = sub.add_parser("eval", help="retrieval quality on a question set")
    e.add_argument("--questions", help="question file (default tests/eval/dev-questions.json)")
    e.add_argument("--systems", help="comma list of full,rrf,dense,e5,bm25,en-text,baseline")
    e.add_argument("--out", help="also write the JSON report here")
    e.set_defaults(func=cmd_eval)

    ev = sub.add_parser("everyday", help="the everyday question set by kind: replies and cross-validated retrieval")
    ev.add_argument("--questions", help="question file (default tests/eval/everyday-questions.json)")
    ev.add_argument("--repeats", type=int, default=3, help="cross-validation repeats (default 3)")
    ev.add_argument("-v", "--verbose", action="store_true", help="list the answerable questions not shown right")
    ev.add_argument("--out", help="also write the JSON report here")
    ev.set_defaults(func=cmd_everyday)

    cv = sub.add_parser("conversations", help="the everyday set's conversations: is the last reply right")
    cv.add_argument("--questions", help="question file (default tests/eval/everyday-questions.json)")
    cv.add_argument("-v", "--verbose", action="store_true", help="list the conversations whose last reply is wrong")
    cv.add_argument("--out", help="also write the JSON report here")
    cv.set_defaults(func=cmd_conversations)

    w = sub.add_parser("web", help="serve the chat page, presenter view and JSON API")
    w.add_argument("--host", default=None, help="interface (default WEB_HOST or 127.0.0.1)")
    w.add_argument("--port", type=int, default=None, help="port (default WEB_PORT or 8080)")
    w.set_defaults(func=cmd_web)

    sf = sub.add_parser("safety", help="refusal recall, false refusals and help recall of the guard")
    sf.add_argument("files", nargs="*", help="JSONL sets (default tests/eval/safety*.jsonl)")
    sf.add_argument("-v", "--verbose", action="store_true", help="list every misjudged message")
    sf.add_argument("--out", help="write the reports as JSON")
    sf.set_defaults(func=cmd_safety)

    cn = sub.add_parser("channels", help="messaging channels enabled by environment variables (docs/channels.md)")
    cn.add_argument("--write", metavar="FILE", help="write Rasa's credentials file (secrets stay ${VARIABLES})")
    cn.set_defaults(func=cmd_channels)

    pg = sub.add_parser("purge", help="delete conversations older than N days from the tracker store")
    pg.add_argument("--days", type=float, required=True, help="delete conversations idle for longer than this")
    pg.add_argument("--db", help="SQLite tracker store (default TRACKER_DB or run/tracker.db)")
    pg.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    pg.set_defaults(func=cmd_purge)

    ins = sub.add_parser("insights", help="conversations, outcomes, declined questions, ratings and citations "
                                          "from the tracker store")
    ins.add_argument("--since", default="7d", help="7d, 24h, 90m, 2w, all, or a date such as 2026-12-01 (UTC); default 7d")
    ins.add_argument("--format", choices=("table", "json", "csv"), default="table")
    ins.add_argument("--db", help="tracker store URL: sqlite:///FILE, a file, or postgresql://user:pw@host:port/db "
                                  "(default: the store make start uses, TRACKER_DB / TRACKER_HOST...)")
    ins.add_argument("--no-texts", action="store_true", help="counts only: no message texts")
    ins.set_defaults(func=cmd_insights)

    t = sub.add_parser("tune", help="train the fusion ranker and confidence model on a question set")
    t.add_argument("--questions", nargs="+", help="question files (default: the dev and everyday sets in tests/eval/)")
    t.add_argument("-C", dest="c", type=float, default=0.3, help="inverse regularisation strength (0.3: best cross-validated on the dev set, docs/retrieval.md)")
    t.add_argument("--dry-run", action="store_true", help="report cross-validated quality, write nothing")
    t.set_defaults(func=cmd_tune)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: a clear one-line message, no traceback
        from bot import embeddings, index

        if isinstance(exc, (index.IndexError_, embeddings.ModelUnavailable, config.SettingsError)):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
