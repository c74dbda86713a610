"""Rasa's Telegram connector with the webhook secret checked.

Rasa 3.6 accepts any POST to ``/webhooks/telegram/webhook`` (it only asks Telegram's getMe
whether the bot's name matches the configuration) and registers the webhook without a secret.
This connector registers it with ``secret_token`` and rejects updates whose
``X-Telegram-Bot-Api-Secret-Token`` header does not match; the open ``set_webhook`` route
re-registers with the secret instead of without it. Button presses are acknowledged
(``answerCallbackQuery``) so the client stops its spinner. ``api_url`` points the bot at a local Bot
API server (self-hosted, or a test double). Exceptions are logged, not re-raised, so Telegram
does not redeliver an update that failed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from aiogram import Bot
from aiogram.bot.api import TELEGRAM_PRODUCTION, TelegramAPIServer
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels import telegram as rasa_telegram
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import InvalidConfigException, RasaException
from sanic import Blueprint, response
from sanic.request import Request

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class TelegramOutput(rasa_telegram.TelegramOutput):
    """Rasa's Telegram output, optionally against another Bot API server."""

    def __init__(self, access_token: Optional[Text], api_url: Optional[Text] = None) -> None:
        server = TelegramAPIServer.from_base(api_url) if api_url else TELEGRAM_PRODUCTION
        Bot.__init__(self, access_token, server=server)


class TelegramInput(rasa_telegram.TelegramInput):
    """Rasa's Telegram input, accepting only updates that carry the webhook's secret token."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(credentials.get("access_token"), credentials.get("verify"), credentials.get("webhook_url"),
                   secret_token=credentials.get("secret_token"), api_url=credentials.get("api_url"))

    def __init__(self, access_token: Optional[Text], verify: Optional[Text], webhook_url: Optional[Text],
                 secret_token: Optional[Text] = None, api_url: Optional[Text] = None,
                 debug_mode: bool = False) -> None:
        if not secret_token or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret_token):
            raise InvalidConfigException(
                "telegram: `secret_token` (TELEGRAM_SECRET_TOKEN) must be 16-256 characters of "
                "A-Z, a-z, 0-9, _ and -; without it anyone could post updates to the webhook.")
        super().__init__(access_token, verify, webhook_url, debug_mode=debug_mode)
        self.secret_token = secret_token
        self.api_url = api_url

    async def _register(self, channel: TelegramOutput) -> bool:
        return bool(await channel.request("setWebhook", {
            "url": self.webhook_url, "secret_token": self.secret_token,
            "allowed_updates": json.dumps(ALLOWED_UPDATES)}))

    async def _acknowledge(self, query_id: Text) -> None:
        try:
            await self._output.request("answerCallbackQuery", {"callback_query_id": query_id})
        except TelegramAPIError as error:
            logger.warning(f"telegram: answerCallbackQuery failed: {error}")

    def get_output_channel(self) -> TelegramOutput:
        """The output channel, after registering the webhook (with its secret) at Telegram."""
        channel = TelegramOutput(self.access_token, self.api_url)

        async def register() -> None:
            bot = TelegramOutput(self.access_token, self.api_url)  # own session for this one loop
            try:
                await self._register(bot)
            finally:
                await bot.session.close()  # not bot.close(): that is the Bot API's "close" method

        try:
            asyncio.run(register())
        except TelegramAPIError as error:
            raise RasaException(f"Failed to set the Telegram webhook: {error}") from error
        self._output = channel
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        secret = self.secret_token.encode()

        @bp.middleware("request")
        async def check_secret(request: Request) -> Any:
            path = request.path.rstrip("/")
            if path.endswith("/set_webhook"):
                ok = await self._register(self._output)
                return response.text("Webhook setup successful" if ok else "Invalid webhook",
                                     status=200 if ok else 502)
            if request.method == "POST" and path.endswith("/webhook"):
                given = (request.headers.get(SECRET_HEADER) or "").encode()
                if not hmac.compare_digest(given, secret):
                    logger.warning("telegram: rejected an update without the webhook's secret token")
                    return response.text("forbidden", status=403)
                update = request.json if isinstance(request.json, dict) else {}
                query = update.get("callback_query") or {}
                if query.get("id"):  # stop the button's spinner now; the answer follows as a message
                    asyncio.create_task(self._acknowledge(str(query["id"])))
            return None

        return bp
