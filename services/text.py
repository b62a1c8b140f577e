"""Making user-typed text safe to post: escaped once, at the Slack edge."""

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Escape Slack's control characters, so typed text can neither ping
    @channel nor forge a mention or a link."""
    return text.translate(_ESCAPES)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
