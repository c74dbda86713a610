"""socket.io channel for Rasa 3.6 that can send custom payloads.

Rasa's ``SocketIOOutput.send_custom_json`` calls ``emit(event, **json_message)``, so every
key of a custom payload becomes an argument of ``emit`` and an answer payload (``kind``,
``text``, ...) raises. This channel sends it as the event data instead:
``{"custom": payload}``, next to the plain ``{"text": ...}`` / ``quick_replies`` messages.
(python-socketio is pinned to 5.9.0, where ``enter_room`` is not a coroutine; see
requirements-rasa.lock.)

Rasa also creates its socket.io server with ``cors_allowed_origins=[]``, which turns the
Origin check off: any web page could open a socket. Here the server accepts browser
connections only from the origins in ``RASA_CORS`` (space-separated, the same list
scripts/stack.sh gives Rasa's ``--cors``; default: the project's own page on ``WEB_PORT``);
``RASA_CORS="*"`` allows any. Clients that send no Origin header (other servers) are not
affected. The CORS response headers stay with Rasa's own CORS handling (Sanic-CORS), so
they are not sent twice.

Conversations are bound to the client they were issued to. Rasa's channel lets any client that
sends ``session_request`` with someone else's ``session_id`` join that conversation's room and
receive its replies live, and lets any message name any ``session_id``. Here the server issues
the conversation: ``session_confirm`` carries a signed token ``<id>.<signature>`` (HMAC-SHA256
over the id with ``SESSION_SECRET``, default a key derived from ``RASA_TOKEN``, which every
instance of a scaled-out stack shares). A client that presents a valid token rejoins its
conversation; anything else (no id, an id of its own making, a conversation id read from a
database or log, a forged signature) gets a new conversation. A socket's messages always go to
the conversation bound to that socket; the ``session_id`` a message names is ignored. The
conversation id Rasa stores is the ``<id>`` part, so knowing it is not enough to join.

Messages up to ``SOCKET_MAX_BYTES`` (default 4 MB) are received and answered (one longer than
``MAX_MESSAGE_CHARS`` gets the "too long" reply from ``limits.py``) instead of the connection
being dropped at python-socketio's 1 MB default; ``message`` must be a string and ``metadata``
an object of at most 16 KB (anything else is dropped).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from rasa_addons.rest import MAX_METADATA_BYTES

log = logging.getLogger(__name__)
_RANDOM_KEY = secrets.token_bytes(32)   # used only when neither SESSION_SECRET nor RASA_TOKEN is set


def _key() -> bytes:
    configured = os.environ.get("SESSION_SECRET") or os.environ.get("RASA_TOKEN")
    if not configured:
        return _RANDOM_KEY   # sessions then last as long as this process
    return hashlib.sha256(b"policy-assistant socket.io sessions\0" + configured.encode()).digest()


def sign(conversation: Text) -> Text:
    """The token a client presents to rejoin ``conversation``."""
    mac = hmac.new(_key(), conversation.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{conversation}.{mac}"


def verify(token: Any) -> Optional[Text]:
    """The conversation id of a token this server issued, or None."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 128:
        return None
    conversation, _ = token.split(".")
    return conversation if conversation and hmac.compare_digest(sign(conversation), token) else None


def allowed_origins() -> List[Text]:
    """Browser origins allowed to open a socket (``RASA_CORS``; ``["*"]`` means any)."""
    configured = os.environ.get("RASA_CORS", "").split()
    if configured:
        return configured
    port = os.environ.get("WEB_PORT", "8080")
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def _origin_checked_server(**kwargs: Any) -> AsyncServer:
    """Rasa's ``AsyncServer(...)`` call, with the Origin check on and CORS headers left to Sanic."""
    origins = allowed_origins()
    size = int(os.environ.get("SOCKET_MAX_BYTES", 4_000_000))
    sio = AsyncServer(**{**kwargs, "cors_allowed_origins": "*" if "*" in origins else origins,
                         "max_http_buffer_size": size})
    sio.eio._cors_headers = lambda environ: []  # Sanic-CORS (rasa run --cors) sends them
    return sio


class SocketIOOutput(rasa_socketio.SocketIOOutput):
    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Send the payload as the message data, not as ``emit`` keyword arguments."""
        await self._send_message(recipient_id, {"custom": json_message})


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Rasa's socket.io input channel with server-issued, signed conversations (see above),
    answering through the output channel above."""

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        return SocketIOOutput(self.sio, self.bot_message_evt) if self.sio is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = _origin_checked_server(async_mode="sanic")
        self.sio = sio
        bp = rasa_socketio.SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        bound: Dict[Text, Text] = {}   # socket id -> conversation id

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            from rasa.core.channels.channel import decode_bearer_token

            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text) -> None:
            bound.pop(sid, None)

        async def bind(sid: Text, token: Any) -> Text:
            conversation = verify(token) or uuid.uuid4().hex
            previous = bound.get(sid)
            if previous and previous != conversation:
                sio.leave_room(sid, previous, namespace=self.namespace)
            bound[sid] = conversation
            if self.session_persistence:
                sio.enter_room(sid, conversation, namespace=self.namespace)
            await sio.emit("session_confirm", sign(conversation), room=sid, namespace=self.namespace)
            return conversation

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any) -> None:
            await bind(sid, data.get("session_id") if isinstance(data, dict) else None)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            text = data.get("message", "")
            if not isinstance(text, str):
                log.info("socket.io: a message that is not a string was dropped")
                return
            conversation = bound.get(sid) or await bind(sid, data.get("session_id"))
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict) or \
                    len(json.dumps(metadata, ensure_ascii=False).encode("utf-8", "surrogatepass")) > MAX_METADATA_BYTES:
                metadata = {}
            sender = conversation if self.session_persistence else sid
            await on_new_message(UserMessage(text, SocketIOOutput(sio, self.bot_message_evt), sender,
                                             input_channel=self.name(), metadata=metadata))

        return bp
