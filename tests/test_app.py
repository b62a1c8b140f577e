"""The Bolt app's wiring: what each request is given to work with."""

from __future__ import annotations

from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.app import create_app
from tests.slack.signing import TEAM_ID, slash_command_body


def app_with(client: WebClient, sessions, clock) -> App:
    """The app as `serve` makes it, whose `authorize` gives every request the token xoxb-request."""
    return create_app(
        client=client,
        signing_secret=None,
        sessions=sessions,
        clock=clock,
        authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id=TEAM_ID, bot_token="xoxb-request"),
    )


def test_each_request_has_a_web_api_client_of_its_own_with_the_token_authorize_gave(demo, clock):
    app_client = WebClient(token="xoxb-app", base_url="http://127.0.0.1:9/api/")
    app = app_with(app_client, demo, clock)
    seen: list[WebClient] = []

    @app.middleware
    def remember_the_client(context, next):
        seen.append(context.client)
        return next()

    for _ in range(2):
        body = slash_command_body("/meeting", "help", user_id="U0CLERK01")
        response = app.dispatch(
            BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
        )
        assert response.status == 200, response.body

    first, second = seen
    assert first is not second and app_client not in seen
    assert (first.token, second.token) == ("xoxb-request", "xoxb-request")
    assert first.base_url == app_client.base_url
    assert first.default_params == {"team_id": TEAM_ID}
    # Authorization set the request's token and team on the request's client only.
    assert app_client.token == "xoxb-app" and app_client.default_params == {}


def test_a_request_s_context_starts_as_bolt_s_own_would(demo, clock):
    """bot.app._App sets up a request's context in place of Bolt's `_init_context`:
    a Bolt that sets more there fails this, rather than requests quietly lacking it."""
    app = app_with(WebClient(token="xoxb-app", base_url="http://127.0.0.1:9/api/"), demo, clock)
    body = slash_command_body("/meeting", "help", user_id="U0CLERK01")
    ours, bolts = (
        BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
        for _ in range(2)
    )
    app._init_context(ours)
    App._init_context(app, bolts)

    assert set(ours.context) == set(bolts.context)
    for key in ours.context:
        if key != "client":
            assert ours.context[key] is bolts.context[key] or ours.context[key] == bolts.context[key], key
    for attribute in (
        "token",
        "base_url",
        "timeout",
        "ssl",
        "proxy",
        "headers",
        "default_params",
        "retry_handlers",
    ):
        assert getattr(ours.context.client, attribute) == getattr(bolts.context.client, attribute), attribute
