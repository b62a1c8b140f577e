"""Structured logs: one event per line, `key=value` pairs after the message.
Tokens and apology reasons are never passed in, so never written out."""

from __future__ import annotations

import logging
import sys

# What every record carries, and uvicorn's `color_message` (its message again, for a terminal).
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={v!r}" for k, v in sorted(extras.items()))
        return line


# slack_sdk logs each call that does not reach Slack at ERROR, then raises; whoever
# called says what became of it (the outbox: "delivery deferred", and it tries
# again; a form: "views.open failed"), so that one line is only detail here.
_SLACK_SDK = "slack_sdk.web.base_client"
_UNREACHED = "Failed to send a request to Slack API server"


def _unreached_as_detail(record: logging.LogRecord) -> bool:
    if record.levelno == logging.ERROR and record.getMessage().startswith(_UNREACHED):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)
    return True


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Bolt logs request bodies (which may hold an apology's reason) at INFO and DEBUG.
    logging.getLogger("slack_bolt").setLevel(logging.WARNING)
    logging.getLogger(_SLACK_SDK).addFilter(_unreached_as_detail)  # once, however often configured
    if level != "DEBUG":
        # Alembic announces every migration context at INFO; only its warnings matter here.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # APScheduler says at INFO that each run began and ended: two lines a minute.
        # A run that failed or was missed is a warning or an error, and stays.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
