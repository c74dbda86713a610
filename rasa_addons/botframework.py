"""Rasa's Bot Framework (Microsoft Teams) connector, also for single-tenant bots.

Rasa 3.6 always asks the multi-tenant endpoint (``login.microsoftonline.com/botframework.com``)
for the token that authenticates replies. Azure no longer creates new multi-tenant bots; a
single-tenant bot must get its token from its own tenant. With ``tenant_id`` set this connector
does so; without it, it asks the same endpoint as Rasa's. Buttons of Rasa responses become
``messageBack`` card actions Teams can show. Incoming requests are verified by Rasa's code
unchanged (Microsoft-signed JWT, audience = the app id).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import requests
from rasa.core.channels import botframework as rasa_botframework
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

logger = logging.getLogger(__name__)


class BotFramework(rasa_botframework.BotFramework):
    """Rasa's Bot Framework output, getting its token from ``tenant`` when one is set."""

    tenant: Optional[Text] = None
    token_expiration_date = datetime.datetime.now()
    headers: Optional[Dict[Text, Any]] = None

    def _token_url(self) -> Text:
        base = rasa_botframework.MICROSOFT_OAUTH2_URL
        if not self.tenant:
            return f"{base}/{rasa_botframework.MICROSOFT_OAUTH2_PATH}"
        return f"{base}/{self.tenant}/oauth2/v2.0/token"

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        """Buttons as ``messageBack`` card actions (Rasa passes its own ``title``/``payload``
        dicts, which are not Bot Framework card actions and are not shown by Teams)."""
        actions = [{"type": "messageBack", "title": b["title"], "text": b["payload"], "displayText": b["title"]}
                   for b in buttons]
        card = {"contentType": "application/vnd.microsoft.card.hero", "content": {"text": text, "buttons": actions}}
        await self.send(self.prepare_message(recipient_id, {"attachments": [card]}))

    async def _get_headers(self) -> Optional[Dict[Text, Any]]:
        cls = type(self)
        if cls.headers and cls.token_expiration_date > datetime.datetime.now():
            return cls.headers
        r = requests.post(self._token_url(), data={
            "client_id": self.app_id, "client_secret": self.app_password, "grant_type": "client_credentials",
            "scope": "https://api.botframework.com/.default"}, timeout=30)
        if not r.ok:
            logger.error(f"Could not get a Bot Framework token (HTTP {r.status_code}) from {self._token_url()}")
            return None
        data = r.json()
        cls.token_expiration_date = datetime.datetime.now() + datetime.timedelta(seconds=int(data["expires_in"]) - 60)
        cls.headers = {"content-type": "application/json", "Authorization": f"Bearer {data['access_token']}"}
        return cls.headers


class BotFrameworkInput(rasa_botframework.BotFrameworkInput):
    """Rasa's Bot Framework input with an optional ``tenant_id`` (single-tenant Azure bots)."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(credentials.get("app_id"), credentials.get("app_password"), credentials.get("tenant_id"))

    def __init__(self, app_id: Text, app_password: Text, tenant_id: Optional[Text] = None) -> None:
        super().__init__(app_id, app_password)
        self.tenant_id = tenant_id

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Rasa's webhook builds its output channel from this module-level name.
        BotFramework.tenant = self.tenant_id
        rasa_botframework.BotFramework = BotFramework  # type: ignore[misc]
        return super().blueprint(on_new_message)
