"""Per-sender rate limit and maximum message size, in front of Rasa's message processing.

Every channel (REST, socket.io, Telegram, ...) hands its messages to ``Agent.handle_message``;
this wraps it. A message longer than ``MAX_MESSAGE_CHARS`` characters (default 4000) or
beyond a sender's allowance (token bucket: ``RATE_LIMIT_BURST`` messages at once, default 20,
refilled at ``RATE_LIMIT_PER_MINUTE``, default 120) is not processed: the sender gets a clear
reply on the same channel, in the language of the message, saying what to do. Nothing is
written to the conversation, so a resent message is handled normally. Set
``RATE_LIMIT_PER_MINUTE=0`` to switch the rate limit off.

Being the one door every message passes, it is also where the message's text and sender id
are handed to ``bot.redact`` (kept out of every log line) and where a lone surrogate in the
text (valid JSON, not encodable) is replaced, so no channel's message can break a featurizer
or the tracker store.

Installed by ``rasa_addons.patches.install`` (``Agent.handle_message`` wrapped). The allowance
is counted per Rasa process; behind a load balancer with N instances a sender
gets at most N times as much (the nginx configuration in deploy/ adds a per-address limit).
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage

from bot import redact
from bot.config import ROOT
from bot.lang import reply_lang
from bot.texts import Texts

log = logging.getLogger(__name__)


def _env_int(name: Text, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        log.error("%s must be a whole number; using %s", name, default)
        return default


class RateLimiter:
    """Token buckets per sender id, kept for at most ``max_senders`` recent senders."""

    def __init__(self, per_minute: float, burst: int, max_senders: int = 50_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.max_senders = max_senders
        self._buckets: Dict[Text, Tuple[float, float]] = {}

    def allow(self, sender: Text, now: Optional[float] = None) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(sender, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[sender] = (tokens - 1.0 if allowed else tokens, now)  # re-inserted: most recent last
        if len(self._buckets) > self.max_senders:
            self._buckets.pop(next(iter(self._buckets)))
        return allowed


MAX_MESSAGE_CHARS = _env_int("MAX_MESSAGE_CHARS", 4000)
limiter = RateLimiter(_env_int("RATE_LIMIT_PER_MINUTE", 120), _env_int("RATE_LIMIT_BURST", 20))


def within_limits(handle_message: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``Agent.handle_message`` wrapped: an over-long message or one beyond the sender's
    allowance is answered with a clear reply on its channel and not processed."""
    texts = Texts.load(ROOT / "data")

    @functools.wraps(handle_message)
    async def handle_message_within_limits(self: Agent, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
        redact.remember(message.text, message.sender_id)   # out of every log line from here on
        if message.text:
            message.text = redact.clean_text(message.text)   # a lone surrogate breaks featurizers and stores
        body = message.text or ""
        reason = None
        if len(body) > MAX_MESSAGE_CHARS:
            reason, values = "too_long", {"length": len(body), "limit": MAX_MESSAGE_CHARS}
        elif not limiter.allow(message.sender_id or ""):
            reason, values = "rate_limited", {}
        if reason is None:
            return await handle_message(self, message)
        log.warning("message not processed (%s) for sender %s", reason, redact.who(message.sender_id or ""))
        if message.output_channel is not None:
            await message.output_channel.send_text_message(
                message.sender_id, texts.t(reply_lang(body[:500]), reason, **values))
        return None

    return handle_message_within_limits
