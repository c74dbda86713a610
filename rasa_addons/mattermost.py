"""Rasa's Mattermost connector with requests verified.

Rasa 3.6 handles any POST to ``/webhooks/mattermost/webhook``. This connector checks the
outgoing webhook's ``token`` (shown when the webhook is created in Mattermost) and signs the
context of every interactive button it sends, so a button click is accepted only with a
signature only this server can make. It also reads the form-encoded bodies Mattermost sends by
default (Rasa reads JSON only), strips the trigger word only when one was used, gives buttons
the ids current Mattermost versions require, answers integrations with JSON, and does not log
Mattermost's 201 Created as a failed post.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import requests
from rasa.core.channels import mattermost as rasa_mattermost
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


def sign(secret: Text, action: Text) -> Text:
    """The signature a button's context carries (HMAC-SHA256 of its payload)."""
    return hmac.new(secret.encode(), action.encode(), hashlib.sha256).hexdigest()


class MattermostBot(rasa_mattermost.MattermostBot):
    """Rasa's Mattermost output with signed button contexts."""

    def __init__(self, url: Text, token: Text, bot_channel: Text, webhook_url: Optional[Text], secret: Text) -> None:
        super().__init__(url, token, bot_channel, webhook_url)
        self.secret = secret

    def _post_data_to_channel(self, data: Dict[Text, Any]) -> requests.Response:
        """Create a post; Mattermost answers 201 Created, which Rasa's connector logs as a failure."""
        r = requests.post(self.url + "/posts", headers={"Authorization": "Bearer " + self.token},
                          data=json.dumps(data), timeout=30)
        if not r.ok:
            logger.error(f"Failed to send message to mattermost channel {data.get('channel_id')}: HTTP {r.status_code}")
        return r

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        actions = [{"id": f"pa{i}", "name": b["title"], "integration": {
            "url": self.webhook_url, "context": {"action": b["payload"], "signature": sign(self.secret, b["payload"])}}}
            for i, b in enumerate(buttons)]
        self._post_data_to_channel({"channel_id": self.bot_channel, "message": text,
                                    "props": {"attachments": [{"actions": actions}]}})


class MattermostInput(rasa_mattermost.MattermostInput):
    """Rasa's Mattermost input, accepting only the outgoing webhook's token or signed buttons."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if credentials is None:
            cls.raise_missing_credentials_exception()
        return cls(credentials.get("url"), credentials.get("token"), credentials.get("webhook_url"),
                   credentials.get("webhook_token"))

    def __init__(self, url: Text, token: Text, webhook_url: Text, webhook_token: Optional[Text] = None) -> None:
        if not webhook_token:
            raise InvalidConfigException(
                "mattermost: `webhook_token` (MATTERMOST_WEBHOOK_TOKEN, the outgoing webhook's token) is "
                "required; without it anyone could post messages to the webhook.")
        super().__init__(url, token, webhook_url)
        self.webhook_token = webhook_token

    async def _handle_message(self, message: Text, sender_id: Text, bot_channel: Text, metadata: Optional[Dict],
                              on_new_message: Callable[[UserMessage], Awaitable[None]]) -> None:
        try:
            out = MattermostBot(self.url, self.token, bot_channel, self.webhook_url, self.webhook_token)
            await on_new_message(UserMessage(message, out, sender_id, input_channel=self.name(), metadata=metadata))
        except Exception as e:  # noqa: BLE001 - Rasa's connector logs and carries on too
            logger.error(f"Exception when trying to handle message. {e}")
            logger.debug(e, exc_info=True)

    @staticmethod
    def _body(request: Request) -> Dict[Text, Any]:
        """The request body, JSON or form-encoded (Mattermost's default for outgoing webhooks)."""
        if (request.content_type or "").startswith("application/json"):
            data = request.json if isinstance(request.json, dict) else {}
        else:
            data = {k: v[0] if isinstance(v, list) and v else v for k, v in (request.form or {}).items()}
        if isinstance(data.get("context"), str):
            data["context"] = json.loads(data["context"])
        return data

    def _authentic(self, data: Dict[Text, Any]) -> bool:
        if "context" in data and "trigger_word" not in data:
            context = data.get("context") or {}
            action, signature = str(context.get("action", "")), str(context.get("signature", ""))
            return bool(action) and hmac.compare_digest(signature, sign(self.webhook_token, action))
        return hmac.compare_digest(str(data.get("token", "")).encode(), self.webhook_token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint("mattermost_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                data = self._body(request)
                authentic = bool(data) and self._authentic(data)
            except (ValueError, TypeError, AttributeError):
                data, authentic = {}, False
            if not authentic:
                logger.warning("mattermost: rejected a request without a valid token or signature")
                return response.json({"error": "invalid token or signature"}, status=401)
            metadata = self.get_metadata(request)
            if "trigger_word" in data:
                text, trigger = str(data.get("text") or ""), str(data.get("trigger_word") or "")
                if trigger and text.startswith(trigger):
                    text = text[len(trigger):]
                if text.strip():
                    await self._handle_message(text.strip(), str(data.get("user_id")), str(data.get("channel_id")),
                                               metadata, on_new_message)
            else:
                await self._handle_message(str(data["context"]["action"]), str(data.get("user_id")),
                                           str(data.get("channel_id")), metadata, on_new_message)
            return response.json({})

        return bp
