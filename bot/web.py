"""Web stage: the chat page, the presenter view and a small read-only JSON API over ``bot/``.

``python -m bot web`` serves, on ``WEB_HOST:WEB_PORT`` (127.0.0.1:8080):

* ``/`` the chat widget page, ``/presenter`` the workshop view, ``/webchat`` a page with the
  community widget rasa-webchat, ``/embed-example.html`` the one-line embedding, ``/widget.js``
  and ``/widget.css`` (from ``web/``), ``/vendor/…`` browser libraries from ``node_modules``;
* ``/api/config`` (where Rasa is), ``/api/documents``, ``/api/paragraphs/{id}`` (a paragraph in
  its document context), ``/api/suggestions`` and ``/api/workshop`` (data files trainers edit),
  ``/health``;
* insights (issue #21, ``bot/insights.py``): ``/insights`` the page (``web/insights.*``; its data
  come from ``/api/insights?since=7d``, which needs ``Authorization: Bearer <INSIGHTS_TOKEN or
  RASA_TOKEN>``); the presenter's room view: ``/api/room?since=<epoch>`` (the room's questions and
  how each was answered; texts only with the token), ``/api/room/address`` (the chat address
  for participants' phones) and ``/api/room/qr.svg?url=...`` (its QR code, made here by segno).

The page talks to Rasa directly (socket.io, REST fallback); this server holds no conversation
state and logs no message text. Everything it serves without a token is public, read-only data
(corpus data, or counts without texts), so GET responses carry ``Access-Control-Allow-Origin: *``
(the widget can be embedded anywhere); the token is compared in constant time and read from the
``Authorization`` header only, which no other origin's page may send (no
``Access-Control-Allow-Headers``), and token-protected answers are ``Cache-Control: no-store``.

The HTTP layer is Sanic's server in one process (``create_app``, ``run``): every response, errors
included, is JSON or a page with the same security headers; a request body is drained, never
parsed as a further request, and refused above ``web_max_request_bytes`` (413); a connection
idle for ``web_keep_alive_timeout`` or slower than ``web_request_timeout`` to send its request
is closed (bot/config.py). ``serve`` starts ``python -m bot web`` as a child process (tests,
benchmarks). Nothing happens at import: the app is built by ``create_app``.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import ipaddress
import itertools
import json
import logging
import mimetypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import yaml

from bot import cite, config, corpus as corpus_mod, index as index_mod

if TYPE_CHECKING:   # Sanic is imported when an app is built, not with this module
    from sanic import Request, Sanic
    from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

PAGES = {"/": "index.html", "/index.html": "index.html", "/presenter": "index.html", "/webchat": "webchat.html",
         "/webchat.html": "webchat.html", "/embed-example.html": "embed-example.html",
         "/widget.js": "widget.js", "/widget.css": "widget.css",
         "/insights": "insights.html", "/insights.js": "insights.js", "/insights.css": "insights.css",
         "/room.js": "room.js"}
PRIVATE = ("/api/insights", "/api/room", "/api/room/address", "/api/room/qr.svg")   # need the query string
_ROOM_URL = re.compile(r"^https?://[^\s<>\"']{1,300}$")
VENDOR = {"/vendor/socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
          "/vendor/rasa-webchat.js": "rasa-webchat/lib/index.js"}
BODY_KINDS = ("body", "front", "back", "caption")
READ_ONLY = "read-only API; chat messages go to Rasa"
# Sanic's router knows these methods; any other is refused by the HTTP layer (400/405, JSON too)
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
ERRORS = {400: "bad request", 401: "token required", 404: "not found", 405: READ_ONLY, 408: "request timeout",
          413: "request too large (the API is read-only)", 503: "service unavailable"}


class Api:
    """The JSON API's data, loaded once (no embedding model needed)."""

    def __init__(self, settings: config.Settings | None = None) -> None:
        self.settings = settings or config.settings()
        self._idx: index_mod.Index | None = None
        self._watch = index_mod.Watch(self.settings)
        self._lock = threading.Lock()

    @property
    def idx(self) -> index_mod.Index:
        """The saved index; a new one (a document added) replaces it within seconds."""
        with self._lock:
            if self._idx is None or self._watch.replaced():
                self._watch.mark()
                try:
                    self._idx = index_mod.Index.load(self.settings.index_dir, self.settings)
                except index_mod.IndexError_:
                    if self._idx is None:
                        raise
                    log.warning("a new search index could not be loaded; the previous one stays in use")
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


def content_security_policy(settings: config.Settings, path: str) -> str:
    rasa = settings.rasa_url
    ws = re.sub(r"^http", "ws", rasa)
    inline = " 'unsafe-inline'" if path.startswith("/webchat") else ""   # the React widget styles inline
    return (f"default-src 'self'; script-src 'self'; style-src 'self'{inline}; img-src 'self' data:; font-src 'self' data:; "
            f"connect-src 'self' {rasa} {ws}; frame-ancestors 'self'; base-uri 'none'")


def secure(response: HTTPResponse, path: str, settings: config.Settings) -> HTTPResponse:
    """The headers every response carries (pages, data, preflights and errors alike)."""
    headers = response.headers
    headers.setdefault("Cache-Control", "no-cache")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Access-Control-Allow-Origin"] = "*"
    if (response.content_type or "").startswith("text/html"):
        headers["Content-Security-Policy"] = content_security_policy(settings, path)
    return response


def _json(data: Any, status: int = 200) -> HTTPResponse:
    from sanic.response import raw

    return raw(json.dumps(data, ensure_ascii=False).encode("utf-8"), status=status,
               content_type="application/json; charset=utf-8")


_names = itertools.count(1)


def expected_token(settings: config.Settings) -> str:
    """The insights token: INSIGHTS_TOKEN, else the Rasa API token (RASA_TOKEN); "" when neither."""
    return settings.insights_token or settings.api_token


def authorised(settings: config.Settings, header: str | None) -> bool:
    """Whether an ``Authorization: Bearer <token>`` header carries the insights token."""
    expected = expected_token(settings)
    scheme, _, given = (header or "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses on its network interfaces, loopback excluded (read from
    the interfaces, no packet sent; Linux). Private (local-network) addresses first."""
    found: list[str] = []
    try:
        import fcntl
        import struct

        for _, name in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
                except OSError:
                    continue
            ip = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(ip).is_loopback and ip not in found:
                found.append(ip)
    except (ImportError, OSError):
        pass
    return sorted(found, key=lambda ip: (not ipaddress.ip_address(ip).is_private, ip))


def room_address(settings: config.Settings, host: str | None = None, port: int | None = None) -> dict[str, Any]:
    """The chat address participants' phones open (``room_url``, else this machine's local-network
    address and the web port) and whether this server (listening on ``host``) is reachable beyond
    loopback."""
    host = settings.web_host if host is None else host
    port = port or settings.web_port
    try:
        local_only = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local_only = host in ("localhost", "")
    candidates = [f"http://{ip}:{port}/" for ip in lan_addresses()]
    url = settings.room_url or (candidates[0] if candidates else f"http://localhost:{port}/")
    return {"url": url, "candidates": candidates, "configured": bool(settings.room_url),
            "listening_beyond_loopback": not local_only}


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as SVG (segno, pure Python; scales with its box)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", border=4, omitsize=True, xmldecl=False, dark="#000",
                                    light="#fff", title=url)
    return buf.getvalue()


def create_app(settings: config.Settings | None = None) -> Sanic:
    """The Sanic app: routes, limits, and one JSON error handler that also sets the headers."""
    from sanic import Sanic
    from sanic.exceptions import PayloadTooLarge
    from sanic.handlers import ErrorHandler
    from sanic.response import empty, raw

    settings = settings or config.settings()
    api = Api(settings)
    node_modules = settings.root / "node_modules"

    class JsonErrors(ErrorHandler):
        """Every error as ``{"error": ...}`` with the security headers, never an HTML page."""

        def default(self, request: Request, exception: Exception) -> HTTPResponse:
            status = int(getattr(exception, "status_code", 500) or 500)
            if status >= 500 and status != 503:
                self.log(request, exception)   # the traceback goes to the log, not to the client
            message = ERRORS.get(status, "internal error" if status >= 500 else "request refused")
            path = getattr(request, "path", "") if request is not None else ""
            return secure(_json({"error": message}, status), path or "", settings)

    app = Sanic(f"policy_assistant_web_{os.getpid()}_{next(_names)}", error_handler=JsonErrors(),
                env_prefix=None, configure_logging=False)   # SANIC_* variables do not apply: bot/config.py does
    app.config.update({
        "REQUEST_TIMEOUT": settings.web_request_timeout,
        "KEEP_ALIVE_TIMEOUT": settings.web_keep_alive_timeout,
        "RESPONSE_TIMEOUT": settings.web_response_timeout,
        "GRACEFUL_SHUTDOWN_TIMEOUT": settings.web_shutdown_timeout,
        "REQUEST_MAX_SIZE": settings.web_max_request_bytes,
        "ACCESS_LOG": False,          # no access log: paths go to the debug log below, bodies never
        "NOISY_EXCEPTIONS": False,
        "MOTD": False,
        "AUTO_RELOAD": False,
        "FALLBACK_ERROR_FORMAT": "json",
    })

    def file(path: Path) -> HTTPResponse:
        try:
            body = path.read_bytes()
        except OSError:
            hint = " (run: make setup, which installs the npm packages)" if "node_modules" in str(path) else ""
            return _json({"error": f"not available: {path.name}{hint}"}, 404)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        return raw(body, content_type=ctype)

    data = {"/api/config": api.config, "/api/documents": api.documents, "/api/suggestions": api.suggestions,
            "/api/workshop": api.workshop, "/health": lambda: {"status": "ok"}}

    def get(path: str) -> HTTPResponse:
        if path in PAGES:
            return file(settings.web_dir / PAGES[path])
        if path in VENDOR:
            return file(node_modules / VENDOR[path])
        try:
            if path in data:
                return _json(data[path]())
            if path.startswith("/api/paragraphs/"):
                pid = unquote(path[len("/api/paragraphs/"):])
                found = api.paragraph(pid) if len(pid) < 200 else None
                if found is None:
                    return _json({"error": f"no paragraph with id {pid[:80]!r}"}, 404)
                return _json(found)
        except index_mod.IndexError_ as exc:
            return _json({"error": f"the document index is not available ({exc}); run: make index"}, 503)
        return _json({"error": "not found"}, 404)

    def private(path: str, query: str, auth: str | None, port: int) -> HTTPResponse:
        """Insights and the room view: the tracker store is read here (off the event loop)."""
        from bot import insights

        args = {k: v[-1] for k, v in parse_qs(query or "", keep_blank_values=True).items()}
        holder = authorised(settings, auth)
        where = (getattr(app.ctx, "listen_host", None), port)
        if path == "/api/room/address":
            return _json(room_address(settings, *where))
        if path == "/api/room/qr.svg":
            url = args.get("url") or room_address(settings, *where)["url"]
            if not _ROOM_URL.match(url):
                return _json({"error": "url must be an http(s) address"}, 400)
            try:
                return raw(qr_svg(url), content_type="image/svg+xml")
            except ImportError:
                return _json({"error": "QR codes need the segno package (make setup)"}, 503)
        try:
            if path == "/api/room":
                since = float(args.get("since") or 0.0)
                response = _json(insights.room(since=since, texts=holder, settings=settings))
            else:
                if not expected_token(settings):
                    return _json({"error": "insights are off: set INSIGHTS_TOKEN (or RASA_TOKEN)"}, 503)
                if not holder:
                    response = _json({"error": "token required"}, 401)
                    response.headers["WWW-Authenticate"] = 'Bearer realm="insights"'
                    return response
                report = insights.report(since=args.get("since") or "7d", texts=True, settings=settings)
                response = _json(report.to_dict())
        except ValueError as exc:   # InsightsError (a bad since) or a since that is not a number
            message = str(exc) if isinstance(exc, insights.InsightsError) else "since must be a number"
            if isinstance(exc, insights.InsightsError) and "--since" not in message:
                log.warning("insights: the tracker store cannot be read")   # no details: they may name texts
                return _json({"error": "the conversation store cannot be read"}, 503)
            return _json({"error": message.replace("--since", "since")}, 400)
        if holder:
            response.headers["Cache-Control"] = "no-store"
        return response

    async def handle(request: Request, path: str = "") -> HTTPResponse:
        log.debug("web %s %s", request.method, request.path)   # the path only; bodies are never logged
        if int(request.headers.get("content-length") or 0) > settings.web_max_request_bytes:
            raise PayloadTooLarge("request too large")   # answered at once; Sanic then drops the connection
        if request.method in ("GET", "HEAD"):    # Sanic sends HEAD's headers without the body
            if request.path in PRIVATE:          # reads the tracker store: off the event loop
                return await asyncio.get_running_loop().run_in_executor(
                    None, private, request.path, request.query_string, request.headers.get("authorization"),
                    request.conn_info.server_port if request.conn_info else 0)
            if request.path.startswith("/api/"):   # may load the index (seconds, once): off the event loop
                return await asyncio.get_running_loop().run_in_executor(None, get, request.path)
            return get(request.path)
        if request.method == "OPTIONS":          # CORS preflight
            response = empty(204)
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            return response
        return _json({"error": READ_ONLY}, 405)

    # One route for every path: the paths are dispatched above, as a table, so an unknown path is
    # a JSON 404 and a write to any path a JSON 405. The handler never waits for a request body
    # (ignore_body): it answers at once, and Sanic then drains the body under the keep-alive timeout
    # (never parsing it as a further request) or drops the connection above REQUEST_MAX_SIZE.
    # (A preloaded body that stalls would be answered 503 by the response timeout and then drained
    # without any timeout: Sanic 25.12 stops checking timeouts once one has fired.)
    app.add_route(handle, "/", methods=METHODS, name="root", ignore_body=True)
    app.add_route(handle, "/<path:path>", methods=METHODS, name="any", ignore_body=True)

    @app.on_response
    def headers(request: Request, response: HTTPResponse) -> None:
        secure(response, request.path, settings)

    app.ctx.api = api
    return app


def listen(host: str, port: int) -> socket.socket:
    """A listening socket (``OSError`` if the address is taken)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    info = next((i for i in infos if i[0] == socket.AF_INET), infos[0])   # "localhost": 127.0.0.1, as before
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def run(sock: socket.socket, settings: config.Settings | None = None) -> None:
    """Serve on a listening socket with Sanic's server, one process, until SIGINT or SIGTERM."""
    from sanic import Sanic

    settings = settings or config.settings()
    if not logging.getLogger().handlers:   # Sanic's start/stop notices and errors, to stderr (run/web.log)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    app.ctx.listen_host = sock.getsockname()[0]   # the room view's address: is this server reachable from phones
    app.prepare(sock=sock, single_process=True, access_log=False, motd=False, auto_reload=False, debug=False)
    Sanic.serve_single(app)


class Server:
    """``python -m bot web`` in a child process (tests, benchmarks): ``server_address``, ``shutdown()``."""

    def __init__(self, host: str, port: int, settings: config.Settings, timeout: float = 60.0) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = int(s.getsockname()[1])
        self.server_address = (host, port)
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, **config.environ(settings), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "web", "--host", host, "--port", str(port)],
                                        cwd=config.ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://{host}:{port}/health"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise OSError(f"the web server exited ({self.process.returncode}): {self.output().strip()[-500:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.shutdown()
                raise TimeoutError(f"the web server did not answer {url}: {self.output().strip()[-500:]}")
            time.sleep(0.1)

    def output(self) -> str:
        """What the server printed (its log)."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def shutdown(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve(host: str | None = None, port: int | None = None, settings: config.Settings | None = None) -> Server:
    """A started web server (a child process, once ``/health`` answers); ``shutdown()`` stops it."""
    settings = settings or config.settings()
    return Server(host or settings.web_host, settings.web_port if port is None else port, settings)
