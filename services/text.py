"""Making user-typed text safe to post: escaped once, at the Slack edge."""

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Escape Slack's control characters, so typed text can neither ping
    @channel nor forge a mention or a link."""
    return text.translate(_ESCAPES)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unescape(text: str) -> str:
    """Text Slack sends back (a button's label, a view's title) as it was before escaping."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
