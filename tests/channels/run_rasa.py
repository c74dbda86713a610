"""Run ``rasa`` (in .venv-rasa) with the Slack and Bot Framework API addresses pointed at the
fake API server (``FAKE_API_URL``). Rasa's own connectors are used unchanged; only the
platform's base URLs move, because these two connectors have no setting for them. The
project's Rasa patches are installed as in production (``rasa_addons/serve.py``).
(Telegram and Mattermost take their API address from the credentials.)

    FAKE_API_URL=http://127.0.0.1:PORT .venv-rasa/bin/python tests/channels/run_rasa.py run ...
"""

from __future__ import annotations

import os
import sys


def patch(base: str) -> None:
    from rasa.core.channels import botframework
    from slack_sdk.web.async_client import AsyncWebClient

    botframework.MICROSOFT_OPEN_ID_URI = f"{base}/bf/openid"
    botframework.MICROSOFT_OAUTH2_URL = f"{base}/bf"
    botframework.MICROSOFT_OAUTH2_PATH = "token"

    original = AsyncWebClient.__init__

    def init(self, token=None, base_url=f"{base}/slack/api/", **kwargs):  # type: ignore[no-untyped-def]
        original(self, token=token, base_url=f"{base}/slack/api/", **kwargs)

    AsyncWebClient.__init__ = init  # type: ignore[method-assign]


if __name__ == "__main__":
    patch(os.environ["FAKE_API_URL"].rstrip("/"))
    from rasa.__main__ import main

    from rasa_addons import patches

    patches.install()   # as rasa_addons/serve.py does

    sys.argv = ["rasa", *sys.argv[1:]]
    main()
