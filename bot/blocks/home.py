"""A person's App Home tab as Block Kit: the Home message's text and sections,
within the 100 blocks Slack allows a view."""

from __future__ import annotations

from typing import Any

from bot.blocks.messages import MAX_VIEW_BLOCKS, message_blocks
from bot.commands.shapes import Message


def home_view(message: Message) -> dict[str, Any]:
    return {"type": "home", "blocks": message_blocks(message, limit=MAX_VIEW_BLOCKS)}
