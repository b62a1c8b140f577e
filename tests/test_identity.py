"""The bot learns who it is from Slack once, in the background, retrying while
Slack's Web API is down; answering requests never waits for it."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.identity import BotIdentity
from tests.slack.fake_api import BOT_ID, BOT_USER_ID, TEAM_ID


def test_the_identity_is_learnt_once_slack_answers(slack_api):
    slack_api.reply("auth.test", status=500, times=2)
    identity = BotIdentity(WebClient(token="xoxb-test", base_url=slack_api.url))
    assert not identity.learn() and not identity.learn()
    assert not identity.known
    assert identity.learn()
    assert (identity.bot_user_id, identity.bot_id, identity.team_id) == (BOT_USER_ID, BOT_ID, TEAM_ID)


def test_requests_are_authorized_at_once_whether_or_not_the_identity_is_known(slack_api):
    slack_api.reply("auth.test", status=500)
    identity = BotIdentity(WebClient(token="xoxb-test", base_url=slack_api.url))
    answer = identity(context=None, enterprise_id=None, team_id=TEAM_ID, user_id="U0CLERK01")
    assert (answer.bot_token, answer.team_id, answer.bot_user_id) == ("xoxb-test", TEAM_ID, None)
    assert slack_api.calls() == []  # no Web API call to answer a request


def test_a_refused_token_stops_the_retries(slack_api):
    slack_api.reply("auth.test", body={"ok": False, "error": "invalid_auth"})
    identity = BotIdentity(WebClient(token="xoxb-test", base_url=slack_api.url), retry_every=0.01)
    identity.start()
    slack_api.wait_for("auth.test")
    identity._thread.join(2)  # it gives up by itself
    assert not identity._thread.is_alive()
    assert len(slack_api.calls("auth.test")) == 1
    assert not identity.known
