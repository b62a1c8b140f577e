"""Who the bot is in Slack, learnt once, off the request path.

Bolt's own authorization calls `auth.test` on every request until one succeeds,
so after a restart while Slack's Web API is down every command fails. Answering
a command needs no Web API call: the token is ours, and the bot's ids (which only
the self-event filter needs) are learnt by a background thread that retries
until `auth.test` answers."""

from __future__ import annotations

import logging
import threading

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.context import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger("partnerbot.slack")

# auth.test errors no retry will cure: the token itself is wrong.
_BAD_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


class BotIdentity(Authorize):
    """The bot's ids, once learnt; and, as Bolt's `authorize`, the answer to
    every request's "with which token?", given at once."""

    def __init__(self, client: WebClient, *, retry_every: float = 5.0, max_wait: float = 300.0) -> None:
        self._client = client
        self._retry_every, self._max_wait = retry_every, max_wait
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None

    @property
    def known(self) -> bool:
        return self.bot_user_id is not None

    def learn(self) -> bool:
        """Ask Slack once; False if it did not answer (try again later)."""
        try:
            answer = self._client.auth_test()
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code in _BAD_TOKEN:
                log.error("SLACK_BOT_TOKEN refused by Slack", extra={"error": code})
                self._stop.set()  # no retry will cure it
            else:
                log.warning("auth.test failed; retrying", extra={"status": error.response.status_code})
            return False
        except (SlackClientError, OSError) as error:
            log.warning("auth.test unreachable; retrying", extra={"error": type(error).__name__})
            return False
        self.bot_user_id, self.bot_id, self.team_id = (
            answer.get("user_id"),
            answer.get("bot_id"),
            answer.get("team_id"),
        )
        log.info("bot identity learnt", extra={"bot_user_id": self.bot_user_id, "team_id": self.team_id})
        return True

    def start(self) -> None:
        """Learn in the background, retrying with back-off until Slack answers."""
        self._thread = threading.Thread(target=self._learn_until_known, name="bot-identity", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _learn_until_known(self) -> None:
        wait = self._retry_every
        while not self._stop.is_set() and not self.learn():
            self._stop.wait(wait)
            wait = min(wait * 2, self._max_wait)

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: object,
    ) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=self._client.token,
            bot_id=self.bot_id,
            bot_user_id=self.bot_user_id,
        )
