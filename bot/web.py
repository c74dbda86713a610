"""Web stage: the chat page, the presenter view and a small read-only JSON API over ``bot/``.

``python -m bot web`` serves, on ``WEB_HOST:WEB_PORT`` (127.0.0.1:8080):

* ``/`` the chat widget page, ``/presenter`` the workshop view, ``/webchat`` a page with the
  community widget rasa-webchat, ``/embed-example.html`` the one-line embedding, ``/widget.js``
  and ``/widget.css`` (from ``web/``), ``/vendor/…`` browser libraries from ``node_modules``;
* ``/api/config`` (where Rasa is), ``/api/documents``, ``/api/paragraphs/{id}`` (a paragraph in
  its document context), ``/api/suggestions`` and ``/api/workshop`` (data files trainers edit),
  ``/health``.

The page talks to Rasa directly (socket.io, REST fallback); this server holds no conversation
state and logs no message text. Everything it serves is public, read-only corpus data, so GET
responses carry ``Access-Control-Allow-Origin: *`` (the widget can be embedded anywhere).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from bot import cite, config, corpus as corpus_mod, index as index_mod

log = logging.getLogger(__name__)

PAGES = {"/": "index.html", "/index.html": "index.html", "/presenter": "index.html", "/webchat": "webchat.html",
         "/webchat.html": "webchat.html", "/embed-example.html": "embed-example.html",
         "/widget.js": "widget.js", "/widget.css": "widget.css"}
VENDOR = {"/vendor/socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
          "/vendor/rasa-webchat.js": "rasa-webchat/lib/index.js"}
BODY_KINDS = ("body", "front", "back", "caption")


class Api:
    """The JSON API's data, loaded once (no embedding model needed)."""

    def __init__(self, settings: config.Settings | None = None) -> None:
        self.settings = settings or config.settings()
        self._idx: index_mod.Index | None = None
        self._lock = threading.Lock()

    @property
    def idx(self) -> index_mod.Index:
        with self._lock:
            if self._idx is None:
                self._idx = index_mod.Index.load(self.settings.index_dir, self.settings)
            return self._idx

    def config(self) -> dict[str, Any]:
        return {"rasa_url": self.settings.rasa_url, "socket_path": "/socket.io/"}

    def documents(self) -> dict[str, Any]:
        docs = []
        for meta in self.idx.documents.values():
            body = sum(1 for p in self.idx.passages if p.doc_id == meta["id"] and p.kind == "body")
            docs.append({k: meta.get(k, "") for k in ("id", "title", "title_en", "short_en", "short_zh", "symbol",
                                                      "date", "issuing_body", "language", "doi", "licence")}
                        | {"body": body})
        return {"documents": docs}

    def _brief(self, p: corpus_mod.Passage | None) -> dict[str, Any] | None:
        return None if p is None else {"id": p.id, "label": p.label, "text": p.text, "text_en": p.text_en,
                                       "kind": p.kind}

    def _neighbours(self, p: corpus_mod.Passage) -> tuple[corpus_mod.Passage | None, corpus_mod.Passage | None]:
        """Previous and next paragraph at the same level (sub-items among their siblings)."""
        same = [q for q in self.idx.passages if q.doc_id == p.doc_id and q.kind in BODY_KINDS and q.parent == p.parent]
        if p.kind not in BODY_KINDS or p not in same:
            return None, None
        i = same.index(p)
        return (same[i - 1] if i > 0 else None), (same[i + 1] if i + 1 < len(same) else None)

    def _path(self, p: corpus_mod.Passage, lang: str) -> str:
        """Every heading level, e.g. ``二 专题讨论 › C 新技术 › 3 增材制造（3D打印）``."""
        section = cite.english_section(p.section, self.idx.headings_en.get(p.doc_id)) if lang == "en" else p.section
        return " › ".join(f"{s.get('num', '')} {s['title']}".strip() for s in section)

    def paragraph(self, pid: str) -> dict[str, Any] | None:
        p = self.idx.passage(pid)
        if p is None:
            return None
        previous, following = self._neighbours(p)
        footnotes = [{"id": f.id, "number": cite.note_label(f.id), "text": f.text, "text_en": f.text_en}
                     for f in self.idx.footnotes(p)]
        meta = self.idx.catalog.meta(p.doc_id)
        return {
            "paragraph": self._brief(p) | {
                "doc_id": p.doc_id, "page": p.page, "footnotes": footnotes, "parent": p.parent,
                "section_path": self._path(p, "zh"), "section_path_en": self._path(p, "en"),
                "section": p.section,
            },
            "previous": self._brief(previous), "next": self._brief(following),
            "document": {k: meta.get(k, "") for k in ("id", "title", "title_en", "short_en", "short_zh", "symbol",
                                                      "date", "issuing_body", "doi", "licence")},
            "citation": {"en": self.idx.citation(p, "en"), "zh": self.idx.citation(p, "zh")},
        }

    def _yaml(self, path: Path, key: str) -> dict[str, Any]:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.warning("cannot read %s (%s)", path, type(exc).__name__)
            data = {}
        return {key: data.get(key) or []}

    def suggestions(self) -> dict[str, Any]:
        return self._yaml(self.settings.root / "data" / "suggestions.yml", "topics")

    def workshop(self) -> dict[str, Any]:
        return self._yaml(self.settings.workshop_path, "groups")


def make_handler(api: Api) -> type[BaseHTTPRequestHandler]:
    settings = api.settings
    node_modules = settings.root / "node_modules"

    class Handler(BaseHTTPRequestHandler):
        server_version = "PolicyAssistantWeb"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.debug("web %s", format % args)   # paths only; messages never pass through here

        def _send(self, status: int, body: bytes, ctype: str, cache: str = "no-cache") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Access-Control-Allow-Origin", "*")
            if ctype.startswith("text/html"):
                rasa = settings.rasa_url
                ws = re.sub(r"^http", "ws", rasa)
                inline = " 'unsafe-inline'" if self.path.startswith("/webchat") else ""   # the React widget styles inline
                self.send_header("Content-Security-Policy",
                                 f"default-src 'self'; script-src 'self'; style-src 'self'{inline}; img-src 'self' data:; font-src 'self' data:; "
                                 f"connect-src 'self' {rasa} {ws}; frame-ancestors 'self'; base-uri 'none'")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data: Any, status: int = 200) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

        def _file(self, path: Path) -> None:
            try:
                body = path.read_bytes()
            except OSError:
                hint = " (run: make setup, which installs the npm packages)" if "node_modules" in str(path) else ""
                self._json({"error": f"not available: {path.name}{hint}"}, 404)
                return
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype.endswith("javascript"):
                ctype += "; charset=utf-8"
            self._send(200, body, ctype)

        def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
            self.do_GET()

        def do_OPTIONS(self) -> None:  # noqa: N802
            self.send_response(HTTPStatus.NO_CONTENT)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            try:
                if path in PAGES:
                    self._file(settings.web_dir / PAGES[path])
                elif path in VENDOR:
                    self._file(node_modules / VENDOR[path])
                elif path == "/health":
                    self._json({"status": "ok"})
                elif path == "/api/config":
                    self._json(api.config())
                elif path == "/api/documents":
                    self._json(api.documents())
                elif path == "/api/suggestions":
                    self._json(api.suggestions())
                elif path == "/api/workshop":
                    self._json(api.workshop())
                elif path.startswith("/api/paragraphs/"):
                    pid = unquote(path[len("/api/paragraphs/"):])
                    data = api.paragraph(pid) if len(pid) < 200 else None
                    if data is None:
                        self._json({"error": f"no paragraph with id {pid[:80]!r}"}, 404)
                    else:
                        self._json(data)
                else:
                    self._json({"error": "not found"}, 404)
            except index_mod.IndexError_ as exc:
                self._json({"error": f"the document index is not available ({exc}); run: make index"}, 503)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:  # noqa: N802
            self._json({"error": "read-only API; chat messages go to Rasa"}, 405)

    return Handler


def serve(host: str | None = None, port: int | None = None, settings: config.Settings | None = None) -> ThreadingHTTPServer:
    """A started server (in a daemon thread); ``shutdown()`` stops it."""
    settings = settings or config.settings()
    server = ThreadingHTTPServer((host or settings.web_host, settings.web_port if port is None else port),
                                 make_handler(Api(settings)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
