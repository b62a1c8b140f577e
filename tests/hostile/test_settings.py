"""The environment is a parser's input too: any value of any setting gives
settings or one line naming the setting (SettingsError), never another error,
and never a secret echoed back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import SettingsError, load
from tests.hostile.corpus import HOSTILE

NAMES = [
    "DATABASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "PUBLIC_BASE_URL",
    "SMTP_URL",
    "INVITE_FROM",
    "PORT",
    "LOG_LEVEL",
]
PLAIN = ["SLACK_API_URL", "PUBLIC_BASE_URL", "INVITE_FROM", "PORT", "LOG_LEVEL"]
NEAR_VALUES = st.sampled_from(
    ["sqlite:///x.db", "mysql://x", "http://127.0.0.1:1", "https://", "http://[::1", "8080", "0", "65536"]
    + ["-1", "DEBUG", "debug", "a@b", "xoxb-1", "xapp-1", "smtp://h:25"]
)
VALUES = st.one_of(NEAR_VALUES, st.text(max_size=40), st.sampled_from([v[:200] for v in HOSTILE.values()]))
# Secrets carry a marker ("hunter") that must never come back in a refusal.
DATABASE_URLS = st.sampled_from(
    [
        "postgresql+psycopg://u:hunter2@h:5432/d",
        "postgresql+psycopg://u:hunter2@h:port/d",
        "mysql://u:hunter2@h/d",
    ]
    + ["postgresql+psycopg://u:hunter2@[::1/d", "sqlite:///x.db", "not a url hunter2"]
)
SMTP_URLS = st.sampled_from(
    ["smtp://u:hunter2@h:25", "smtps://u:hunter2@h:notaport", "smtp://u:hunter2@[::1", "ftp://u:hunter2@h"]
)
TOKENS = {
    "SLACK_BOT_TOKEN": st.sampled_from(["xoxb-hunter3", "hunter3-not-a-bot-token"]),
    "SLACK_APP_TOKEN": st.sampled_from(["xapp-hunter4", "hunter4-not-an-app-token"]),
    "SLACK_SIGNING_SECRET": st.sampled_from(["hunter5", " hunter5 ", ""]),
}
ENVIRONMENTS = st.fixed_dictionaries(
    {},
    optional={name: VALUES for name in PLAIN}
    | TOKENS
    | {"DATABASE_URL": DATABASE_URLS, "SMTP_URL": SMTP_URLS},
)


@settings(max_examples=200, deadline=1000)
@given(environ=ENVIRONMENTS)
def test_any_environment_gives_settings_or_one_line_naming_the_setting(environ):
    try:
        load(environ)
    except SettingsError as error:
        message = str(error)
        assert "\n" not in message and any(name in message for name in NAMES), message
        assert "hunter" not in message, message


def test_a_database_url_with_a_port_that_is_not_a_number_is_named_without_its_password():
    with pytest.raises(SettingsError) as refusal:
        load({"DATABASE_URL": "postgresql+psycopg://bot:hunter2@db:fivefourthreetwo/partnerbot"})
    assert str(refusal.value) == "DATABASE_URL is not a database URL: (unreadable)"
