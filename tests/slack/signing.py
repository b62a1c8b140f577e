"""Build inbound Slack requests (slash commands, interactions) and sign them as Slack does.

body = slash_command_body("/partner", "agenda", user_id="U1", response_url=api.response_url())
headers = {"Content-Type": FORM, **sign(body, secret=secret, timestamp=int(time.time()))}
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from tests.slack.fake_api import TEAM_ID

SIGNING_SECRET = "not-a-real-signing-secret-000000"  # 32 characters, like a real one
FORM = "application/x-www-form-urlencoded"
APP_ID = "A0APP0001"
TRIGGER_ID = "1700000000.1234567890.0123456789abcdef0123456789abcdef"
# Where a response_url goes unless a test passes one: the discard port on
# localhost, so a forgotten response_url fails fast instead of reaching Slack.
DEAD_RESPONSE_URL = f"http://127.0.0.1:9/response/commands/{TEAM_ID}/0/unset"


def sign(body: str | bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for ``body``.

    Slack signs ``v0:{timestamp}:{raw body}`` with HMAC-SHA256 keyed by the
    app's signing secret. Verifiers reject timestamps more than five minutes
    from their clock, so pass the time the code under test will see.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    channel_id: str = "C0GENERAL",
    team_id: str = TEAM_ID,
    trigger_id: str = TRIGGER_ID,
    response_url: str | None = None,
    user_name: str | None = None,
    channel_name: str = "general",
) -> str:
    """A slash command's form body with the fields Slack sends (``command`` gains a "/" if bare)."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": "partnerbot-test",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command if command.startswith("/") else f"/{command}",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url or DEAD_RESPONSE_URL,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """An interaction's form body: a single ``payload`` field holding the JSON."""
    return urlencode({"payload": json.dumps(payload)})
