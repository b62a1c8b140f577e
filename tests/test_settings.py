"""Settings: read once, and a bad one stops start-up with one line naming it."""

from __future__ import annotations

import socket

import pytest

from bot.cli import main
from bot.settings import SettingsError, load


def test_defaults_need_nothing():
    settings = load({})
    assert settings.database_url == "sqlite:///partnerbot.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 3000 and settings.smtp is None


def test_every_setting_is_read():
    settings = load(
        {
            "DATABASE_URL": "postgresql+psycopg://u:p@db/partnerbot",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_API_URL": "http://127.0.0.1:9999",
            "PUBLIC_BASE_URL": "https://bot.example.org/",
            "SMTP_URL": "smtps://user:pw@mail.example.org",
            "INVITE_FROM": "psr@example.org",
            "PORT": "8080",
            "LOG_LEVEL": "debug",
            "WEB_CONCURRENCY": "2",
        }
    )
    assert settings.web_concurrency == 2
    assert settings.slack_api_url == "http://127.0.0.1:9999/"
    assert settings.public_base_url == "https://bot.example.org"
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.tls) == ("mail.example.org", 465, True)
    assert settings.port == 8080 and settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    "written",
    [
        "postgres://partnerbot:p%40ss@db:5433/board?sslmode=require",
        "postgresql://partnerbot:p%40ss@db:5433/board?sslmode=require",
    ],
)
def test_a_postgresql_url_as_hosting_platforms_write_it_is_taken_through_psycopg(written):
    settings = load({"DATABASE_URL": written})
    assert settings.database_url == "postgresql+psycopg://partnerbot:p%40ss@db:5433/board?sslmode=require"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("SLACK_BOT_TOKEN", "xoxp-user", "SLACK_BOT_TOKEN must be a bot token"),
        ("SLACK_APP_TOKEN", "xoxb-1", "SLACK_APP_TOKEN"),
        ("SLACK_API_URL", "ftp://x", "SLACK_API_URL"),
        ("PUBLIC_BASE_URL", "bot.example.org", "PUBLIC_BASE_URL"),
        ("SMTP_URL", "http://mail", "SMTP_URL"),
        ("SMTP_URL", "smtp://mail:notaport", "SMTP_URL"),
        ("PORT", "99999", "PORT"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL"),
        ("INVITE_FROM", "nobody", "INVITE_FROM"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be a whole number of processes from 1 to 32"),
        ("WEB_CONCURRENCY", "33", "WEB_CONCURRENCY"),
        ("WEB_CONCURRENCY", "two", "WEB_CONCURRENCY"),
    ],
)
def test_a_bad_setting_is_named(name, value, says):
    with pytest.raises(SettingsError) as stopped:
        load({name: value})
    assert says in str(stopped.value) and "\n" not in str(stopped.value)


def test_serve_without_slack_credentials_stops_with_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["partnerbot: SLACK_BOT_TOKEN is not set: partnerbot serve needs the bot token (xoxb-...)"]


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (
            ["--workers", "0"],
            {},
            "partnerbot: --workers must be a whole number of processes from 1 to 32, not '0'",
        ),
        (
            ["--workers", "2"],
            {"SLACK_APP_TOKEN": "xapp-test"},
            "partnerbot: --workers/WEB_CONCURRENCY: Socket Mode (SLACK_APP_TOKEN) is one websocket; "
            "serve it with 1 worker",
        ),
        (
            [],
            {"WEB_CONCURRENCY": "2", "SLACK_APP_TOKEN": "xapp-test"},
            "partnerbot: --workers/WEB_CONCURRENCY",
        ),
    ],
)
def test_serve_with_workers_it_cannot_have_stops_with_one_line(
    argv, env, says, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(says)


def _a_port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["serve"],
        ["worker"],
        ["db", "upgrade"],
        ["load", "partnership.yaml"],
        ["jobs", "run-due"],
        ["deliveries"],
        ["console", "--demo"],
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
def test_a_database_it_cannot_connect_to_stops_start_up_with_one_line(
    argv, where, monkeypatch, capsys, tmp_path
):
    url = {
        "postgresql": f"postgresql://partnerbot:a-secret-password@127.0.0.1:{_a_port_nobody_listens_on()}/pb",
        "sqlite": f"sqlite:///{tmp_path}/no/such/folder/partnerbot.db",
    }[where]
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("partnerbot: DATABASE_URL: cannot connect to the database at ")
    assert ("Connection refused" if where == "postgresql" else "unable to open database file") in err[0]
    assert "a-secret-password" not in err[0]


def test_the_suite_cannot_reach_the_real_slack():
    with pytest.raises(AssertionError, match="only loopback"):
        socket.create_connection(("203.0.113.5", 443), timeout=1)


def test_secrets_never_show_in_the_settings_repr():
    settings = load(
        {
            "DATABASE_URL": "postgresql+psycopg://partnerbot:db-password-1@db/partnerbot",
            "SLACK_BOT_TOKEN": "xoxb-bot-token-1",
            "SLACK_SIGNING_SECRET": "signing-secret-1",
            "SLACK_APP_TOKEN": "xapp-app-token-1",
            "SMTP_URL": "smtp://mailer:smtp%40password-1@mail.example.org:587",
        }
    )
    shown = f"{settings!r} {settings} {settings.smtp!r}"
    for secret in ("db-password-1", "xoxb-bot-token-1", "signing-secret-1", "xapp-app-token-1", "password-1"):
        assert secret not in shown
    assert settings.slack_bot_token is not None and settings.slack_bot_token.reveal() == "xoxb-bot-token-1"
    assert settings.smtp is not None and settings.smtp.password is not None
    assert settings.smtp.password.reveal() == "smtp@password-1" and settings.smtp.username == "mailer"
