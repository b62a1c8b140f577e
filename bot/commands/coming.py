"""Commands whose grammar is fixed but whose work lands in later issues: each
answers `help` and says plainly that it is not available yet."""

from __future__ import annotations

from bot.commands.core import Command, Context
from services.errors import UserError


def _not_yet(name: str):
    def handle(context: Context, text: str) -> str:
        raise UserError(
            f"`{name}` is not available yet: `{name} help` shows what it will do. Nothing was changed."
        )

    return handle


CALENDAR = Command(
    name="/calendar",
    help="""*/calendar* — your own calendar feed of every meeting of your groups
• `/calendar` — your subscription link, e.g. to paste into Outlook or Google Calendar; `/calendar reset` — revoke it and issue a new one
(Not available yet.)""",
    handle=_not_yet("/calendar"),
)
