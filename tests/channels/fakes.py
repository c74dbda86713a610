"""A local stand-in for the platform APIs the channels call (Telegram Bot API, Slack Web API,
Bot Framework connector and login, Mattermost REST API, a callback receiver).

It records every request and answers like the real service, including its refusals: Telegram
rejects MarkdownV2 it cannot parse and texts over 4096 characters; Slack rejects section texts
over 3000 characters and messages over 50 blocks; the Bot Framework connector requires the
token its login endpoint issued.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_NAME = "policy_assistant_test_bot"
BF_ACCESS_TOKEN = "fake-botframework-access-token"
RESERVED = set("_*[]()~`>#+-=|{}.!")


def check_markdown_v2(text: str) -> None:
    """Raise ValueError where Telegram's MarkdownV2 parser would reject ``text``
    (https://core.telegram.org/bots/api#markdownv2-style)."""
    i, n, stack, line_start = 0, len(text), [], True
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n or not 1 <= ord(text[i + 1]) <= 126:
                raise ValueError(f"bad escape at {i}")
            i, line_start = i + 2, False
            continue
        if c == "\n":
            i, line_start = i + 1, True
            continue
        if line_start and c == ">":
            i, line_start = i + 1, False
            continue
        line_start = False
        token = None
        if c in "*~":
            token = c
        elif c == "_":
            token = "__" if text.startswith("__", i) else "_"
        elif c == "|":
            if not text.startswith("||", i):
                raise ValueError(f"Character '|' is reserved and must be escaped with the preceding '\\' (at {i})")
            token = "||"
        elif c == "`":
            i = _closing(text, i + 1, "`", f"Can't find end of code entity at {i}") + 1
            continue
        elif c == "[":
            stack.append("[")
            i += 1
            continue
        elif c == "]":
            if not stack or stack[-1] != "[":
                raise ValueError(f"Character ']' is reserved and must be escaped (at {i})")
            stack.pop()
            if not text.startswith("(", i + 1):
                raise ValueError(f"link without URL at {i}")
            i = _closing(text, i + 2, ")", f"Can't find end of the URL at {i}") + 1
            continue
        elif c in RESERVED:
            raise ValueError(f"Character '{c}' is reserved and must be escaped with the preceding '\\' (at {i})")
        if token:
            if stack and stack[-1] == token:
                stack.pop()
            elif token in stack:
                raise ValueError(f"entities {token!r} overlap at {i}")
            else:
                stack.append(token)
            i += len(token)
            continue
        i += 1
    if stack:
        raise ValueError(f"Can't find end of the entity {stack[-1]!r}")


def _closing(text: str, start: int, char: str, error: str) -> int:
    """Index of the first unescaped ``char`` from ``start``; ``error`` if there is none."""
    j = start
    while j < len(text) and text[j] != char:
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise ValueError(error)
    return j


def telegram_plain(markdown_v2: str) -> str:
    """The text a Telegram reader sees: link targets and markup removed, escapes resolved."""
    markdown_v2 = re.sub(r"\]\((?:\\.|[^)\\])*\)", "", markdown_v2)
    out, i = [], 0
    while i < len(markdown_v2):
        c = markdown_v2[i]
        if c == "\\" and i + 1 < len(markdown_v2):
            out.append(markdown_v2[i + 1])
            i += 2
            continue
        if c not in "*_~|>[]":
            out.append(c)
        i += 1
    return "".join(out)


def visible_length(markdown_v2: str) -> int:
    """Characters Telegram counts after parsing (UTF-16 units of the visible text)."""
    return len(telegram_plain(markdown_v2).encode("utf-16-le")) // 2


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.time)


class FakeAPI:
    """The fake server; ``calls`` holds every request received, oldest first."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks: dict[str, Any] = {"keys": []}
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    def find(self, part: str, since: float = 0.0) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if part in c.path and c.at >= since]

    def wait(self, part: str, since: float, count: int = 1, timeout: float = 60.0, settle: float = 1.5) -> list[Call]:
        """Calls to a path containing ``part`` after ``since``: at least ``count``, then no new
        one for ``settle`` seconds (a reply may be several messages)."""
        deadline = time.time() + timeout
        seen, last_change = 0, time.time()
        while time.time() < deadline:
            found = self.find(part, since)
            if len(found) != seen:
                seen, last_change = len(found), time.time()
            if seen >= count and time.time() - last_change >= settle:
                return found
            time.sleep(0.1)
        return self.find(part, since)

    # ------------------------------------------------------------------------------
    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        if path.startswith("/tg/bot"):
            api = path.rsplit("/", 1)[-1]
            if api == "getMe":
                return 200, {"ok": True, "result": {"id": 7000001, "is_bot": True, "first_name": "Policy Assistant",
                                                    "username": BOT_NAME}}
            if api == "answerCallbackQuery":
                return 200, {"ok": True, "result": True}
            if api == "setWebhook":
                return 200, {"ok": True, "result": True, "description": "Webhook was set"}
            if api == "sendMessage":
                text = str(body.get("text", ""))
                if body.get("parse_mode") == "MarkdownV2":
                    try:
                        check_markdown_v2(text)
                    except ValueError as exc:
                        return 400, {"ok": False, "error_code": 400,
                                     "description": f"Bad Request: can't parse entities: {exc}"}
                    length = visible_length(text)
                else:
                    length = len(text.encode("utf-16-le")) // 2
                if length > 4096:
                    return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
                return 200, {"ok": True, "result": {"message_id": len(self.calls), "date": int(time.time()),
                                                    "chat": {"id": int(body.get("chat_id", 0)), "type": "private"},
                                                    "text": text}}
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if path.startswith("/slack/api/"):
            blocks = body.get("blocks") or []
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            too_long = [b for b in blocks for t in ([b.get("text")] if b.get("text") else b.get("elements", []))
                        if isinstance(t, dict) and len(str(t.get("text", ""))) > 3000]
            if len(blocks) > 50 or too_long:
                return 200, {"ok": False, "error": "invalid_blocks"}
            return 200, {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
        if path == "/bf/openid":
            return 200, {"issuer": "https://api.botframework.com", "jwks_uri": f"{self.url}/bf/keys"}
        if path == "/bf/keys":
            return 200, self.jwks
        if path == "/bf/token" or (path.startswith("/bf/") and path.endswith("/oauth2/v2.0/token")):
            return 200, {"token_type": "Bearer", "expires_in": 3600, "access_token": BF_ACCESS_TOKEN}
        if path.startswith("/bf/v3/conversations/"):
            if headers.get("authorization") != f"Bearer {BF_ACCESS_TOKEN}":
                return 401, {"error": {"code": "Unauthorized"}}
            return 200, {"id": f"activity-{len(self.calls)}"}
        if path == "/mm/api/v4/posts":
            return 201, {"id": f"post{len(self.calls)}", "channel_id": body.get("channel_id"),
                         "message": body.get("message")}
        if path == "/callback":
            return 200, {}
        return 404, {"error": "not found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type") or ""
                body: Any = {}
                if raw and "json" in ctype:
                    body = json.loads(raw.decode())
                elif raw and "x-www-form-urlencoded" in ctype:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                elif raw and "multipart/form-data" in ctype:
                    body = _multipart(raw, ctype)
                elif raw:
                    try:
                        body = json.loads(raw.decode())
                    except ValueError:
                        body = raw.decode(errors="replace")
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = fake._answer(self.command, path, headers, body)
                with fake.lock:
                    fake.calls.append(Call(self.command, path, headers, body))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815

        return Handler


def _multipart(raw: bytes, ctype: str) -> dict[str, str]:
    """Fields of a multipart/form-data body (aiogram sends some calls that way)."""
    boundary = ctype.split("boundary=", 1)[1].strip('"').encode()
    out: dict[str, str] = {}
    for part in raw.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        out[name] = value.rsplit(b"\r\n", 1)[0].decode()
    return out
