"""The REST channel (``POST /webhooks/rest/webhook``) with its input checked before Rasa sees it.

Rasa's own ``RestInput`` takes any body: one that is not a JSON object ends in a 500 with a
traceback, a missing ``sender`` puts every such client into one shared conversation called
"default", a ``message`` that is not a string is answered with a silent ``[]``, and ``metadata``
of any size is stored in the tracker. This channel answers each of those with a 400 and a clear
JSON error (``{"error": "..."}``) instead, and hands everything else to Rasa's channel
unchanged. The REST channel is an interface for trusted integrators (docs/channels.md); the
checks keep one client's mistakes from reaching another's conversation. Nothing of the body
is logged.

With ``REST_TOKEN`` set (in the environment or .env), every message must carry it, as
``Authorization: Bearer <token>`` (or ``?token=<token>``); a message without it gets a 401. The
web page then talks over socket.io only (its REST fallback has no token to send).

Listed in ``credentials.yml`` as ``rasa_addons.rest.RestInput``; its name is still ``rest``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response

from bot import redact
from sanic.request import Request

log = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
MAX_METADATA_BYTES = 16_384


def authorised(request: Request, token: Text) -> bool:
    """Whether the request carries ``token`` (no token configured: every request is)."""
    if not token:
        return True
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else request.args.get("token", "")
    return hmac.compare_digest(given.encode(), token.encode())


def problem(body: Any) -> Optional[Text]:
    """Why a REST message body is refused, or None when Rasa may have it."""
    if not isinstance(body, dict):
        return "the body must be a JSON object: {\"sender\": \"...\", \"message\": \"...\"}"
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        return "\"sender\" is required: a string that identifies the conversation (one per user)"
    if len(sender) > MAX_SENDER_CHARS:
        return f"\"sender\" is longer than {MAX_SENDER_CHARS} characters"
    if "message" not in body or not isinstance(body.get("message"), str):
        return "\"message\" is required and must be a string"
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            return "\"metadata\" must be a JSON object"
        if len(json.dumps(metadata, ensure_ascii=False).encode("utf-8", "surrogatepass")) > MAX_METADATA_BYTES:
            return f"\"metadata\" is larger than {MAX_METADATA_BYTES} bytes"
    return None


class RestInput(RasaRestInput):
    """Rasa's REST channel behind ``problem``'s checks."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.middleware("request")
        async def check_body(request: Request) -> Any:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            if not authorised(request, os.environ.get("REST_TOKEN", "")):
                return response.json({"error": "this REST channel needs its token: Authorization: Bearer <REST_TOKEN>"},
                                     status=401)
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                body = None
            if isinstance(body, dict):   # out of every log line, whatever fails next
                redact.remember(body.get("message") if isinstance(body.get("message"), str) else None,
                                body.get("sender") if isinstance(body.get("sender"), str) else None)
            why = problem(body)
            if why is not None:
                log.info("rest: refused a message body (%s)", why.split(":")[0])
                return response.json({"error": why}, status=400)
            return None

        return bp
