"""socket.io channel for Rasa 3.6 that can send custom payloads.

Rasa's ``SocketIOOutput.send_custom_json`` calls ``emit(event, **json_message)``, so every
key of a custom payload becomes an argument of ``emit`` and an answer payload (``kind``,
``text``, ...) raises. This channel sends it as the event data instead:
``{"custom": payload}``, next to the plain ``{"text": ...}`` / ``quick_replies`` messages.
(python-socketio is pinned to 5.9.0, where ``enter_room`` is not a coroutine; see
requirements-rasa.lock.)
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint


class SocketIOOutput(rasa_socketio.SocketIOOutput):
    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """Send the payload as the message data, not as ``emit`` keyword arguments."""
        await self._send_message(recipient_id, {"custom": json_message})


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Rasa's socket.io input channel, answering through the output channel above."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Rasa's message handler builds its output channel from this module-level name.
        rasa_socketio.SocketIOOutput = SocketIOOutput  # type: ignore[misc]
        return super().blueprint(on_new_message)
