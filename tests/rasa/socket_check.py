"""Run by tests/test_chaos.py with Rasa's Python (.venv-rasa has python-socketio's client):
two socket.io clients against a running Rasa; prints what each received, as JSON.

``python tests/rasa/socket_check.py URL`` — A opens a conversation and asks a question; B tries
to join it with A's conversation id, with a forged token and by naming A's id in its
messages; A asks again; A reconnects with its token; A sends a 2 MB message."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import socketio


class Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.confirmed: list[str] = []
        self.replies: list[dict[str, Any]] = []
        self.sio.on("session_confirm", self.confirmed.append)
        self.sio.on("bot_uttered", self.replies.append)

    async def open(self, session_id: str | None = None) -> str:
        await self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": session_id})
        for _ in range(100):
            if self.confirmed:
                return self.confirmed[-1]
            await asyncio.sleep(0.05)
        raise TimeoutError("no session_confirm")

    async def ask(self, text: str, session_id: str, wait: float = 60.0) -> list[dict[str, Any]]:
        before = len(self.replies)
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})
        for _ in range(int(wait / 0.1)):
            await asyncio.sleep(0.1)
            if len(self.replies) > before and any("custom" in r or "text" in r for r in self.replies[before:]):
                await asyncio.sleep(0.5)   # the rest of this reply's messages
                break
        return self.replies[before:]


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


async def main(url: str) -> None:
    a, b = Client(url), Client(url)
    token_a = await a.open()
    conversation_a = token_a.split(".")[0]
    first = await a.ask("What is PhotoDNA?", token_a)
    own = await b.open(conversation_a)                       # A's conversation id, read elsewhere
    await b.sio.emit("session_request", {"session_id": conversation_a + "." + "0" * 32})
    await asyncio.sleep(0.5)
    forged = b.confirmed[-1]
    b_reply = await b.ask("tell me more", conversation_a)    # names A's conversation in the message
    b_seen_before = len(b.replies)
    second = await a.ask("tell me more", token_a)
    await asyncio.sleep(1.0)
    leaked = b.replies[b_seen_before:]
    await a.sio.disconnect()
    again = Client(url)
    token_again = await again.open(token_a)
    big = await again.ask("x" * 2_000_000, token_again)
    connected_after_big = again.sio.connected
    await again.sio.disconnect()
    await b.sio.disconnect()
    print(json.dumps({
        "token_a": token_a, "first": texts(first), "b_token": own, "b_forged_token": forged,
        "b_reply": texts(b_reply), "second": texts(second), "leaked_to_b": len(leaked),
        "rejoined": token_again == token_a, "big": texts(big), "connected_after_big": connected_after_big,
    }))


asyncio.run(main(sys.argv[1]))
