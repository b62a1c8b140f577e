"""The environment, read once at start-up into one typed settings object.

A missing or bad setting stops start-up with one line naming it."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.session import DEFAULT_DATABASE_URL

SLACK_API_DEFAULT = "https://slack.com/api/"
MIN_FEED_SECRET = 32  # calendar links are HMACs under it: as strong as the links themselves
MAX_WORKERS = 32


class SettingsError(Exception):
    """One line naming the setting that is missing or wrong."""


class Secret:
    """A token, signing secret or password: it shows as asterisks in reprs, logs
    and errors, and only `reveal()` gives the value, where it is handed to the
    library that needs it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    username: str | None
    password: Secret | None
    tls: bool  # smtps:// — TLS from the first byte


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    slack_api_url: str = SLACK_API_DEFAULT
    public_base_url: str | None = None
    feed_secret: Secret | None = None
    smtp: Smtp | None = None
    invite_from: str | None = None
    port: int = 3000
    log_level: str = "INFO"
    web_concurrency: int = 1  # processes answering HTTP in `serve` (its --workers)

    def require_bot_token(self, command: str) -> None:
        """Whatever posts to Slack needs the bot token; the console and `load` do not."""
        if not self.slack_bot_token:
            raise SettingsError(
                f"SLACK_BOT_TOKEN is not set: partnerbot {command} needs the bot token (xoxb-...)"
            )

    def require_slack(self) -> None:
        """`serve` also needs to know that requests come from Slack."""
        self.require_bot_token("serve")
        if not self.slack_app_token and not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: partnerbot serve needs it to check that requests come from Slack"
            )


_POSTGRES_SCHEMES = ("postgres", "postgresql")


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        parsed = make_url(database_url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise SettingsError(f"DATABASE_URL is not a database URL: {_redact(database_url)}") from None
    if parsed.drivername in _POSTGRES_SCHEMES:
        # As hosting platforms write it (postgres://...): PostgreSQL through psycopg,
        # the driver partnerbot is built and tested on.
        database_url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    elif parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise SettingsError(
            "DATABASE_URL must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE "
            f"(or postgres://), not {parsed.drivername}://"
        )

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting xoxb-")
    app_token = get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting xapp-")

    slack_api_url = get("SLACK_API_URL") or SLACK_API_DEFAULT
    _require_http("SLACK_API_URL", slack_api_url)
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"
    public_base_url = get("PUBLIC_BASE_URL")
    if public_base_url:
        _require_http("PUBLIC_BASE_URL", public_base_url)
        public_base_url = public_base_url.rstrip("/")

    port_text = get("PORT") or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SettingsError(f"PORT must be a port number from 1 to 65535, not {port_text!r}")
    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in logging.getLevelNamesMapping():
        raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")

    web_concurrency = workers(get("WEB_CONCURRENCY") or "1", name="WEB_CONCURRENCY")

    feed_secret = get("FEED_SECRET")
    if feed_secret and len(feed_secret) < MIN_FEED_SECRET:
        raise SettingsError(
            f"FEED_SECRET must be at least {MIN_FEED_SECRET} characters, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )

    invite_from = get("INVITE_FROM")
    if invite_from and "@" not in invite_from:
        raise SettingsError(f"INVITE_FROM must be an e-mail address, not {invite_from!r}")

    return Settings(
        database_url=database_url,
        slack_bot_token=_secret(bot_token),
        slack_signing_secret=_secret(get("SLACK_SIGNING_SECRET")),
        slack_app_token=_secret(app_token),
        slack_api_url=slack_api_url,
        public_base_url=public_base_url,
        feed_secret=_secret(feed_secret),
        smtp=_smtp(get("SMTP_URL")),
        invite_from=invite_from,
        port=int(port_text),
        log_level=log_level,
        web_concurrency=web_concurrency,
    )


def workers(text: str, *, name: str) -> int:
    """How many processes `serve` answers HTTP with, from WEB_CONCURRENCY or --workers."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_WORKERS:
        raise SettingsError(
            f"{name} must be a whole number of processes from 1 to {MAX_WORKERS}, not {text!r}"
        )
    return int(text)


def _smtp(url: str | None) -> Smtp | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 address
        parts = urlsplit("")
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError("SMTP_URL must look like smtp://user:pass@host:port or smtps://...")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise SettingsError("SMTP_URL has a port that is not a number") from None

    return Smtp(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=_secret(unquote(parts.password)) if parts.password else None,
        tls=parts.scheme == "smtps",
    )


def _require_http(name: str, value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed [ of an IPv6 address
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http:// or https:// URL, not {value!r}")


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unreadable)"
