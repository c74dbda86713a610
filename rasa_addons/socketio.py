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
"""

from __future__ import annotations

import os
from typing import Any, Awaitable, Callable, Dict, List, Text

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from socketio import AsyncServer


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
    sio = AsyncServer(**{**kwargs, "cors_allowed_origins": "*" if "*" in origins else origins})
    sio.eio._cors_headers = lambda environ: []  # Sanic-CORS (rasa run --cors) sends them
    return sio


class SocketIOOutput(rasa_socketio.SocketIOOutput):
    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Send the payload as the message data, not as ``emit`` keyword arguments."""
        await self._send_message(recipient_id, {"custom": json_message})


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Rasa's socket.io input channel, answering through the output channel above."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Rasa's message handler builds its output channel from this module-level name.
        rasa_socketio.SocketIOOutput = SocketIOOutput  # type: ignore[misc]
        rasa_socketio.AsyncServer = _origin_checked_server  # type: ignore[misc]
        return super().blueprint(on_new_message)
