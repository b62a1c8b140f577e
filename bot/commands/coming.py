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


UPDATE = Command(
    name="/update",
    help="""*/update* — workstream highlight reports
• `/update WORKSTREAM [green|amber|red] TEXT` — a quick update, e.g. `/update joint-commissioning amber Pooled budget delayed to Q3`
• `/update WORKSTREAM` — the highlight-report form; `/update WORKSTREAM history` — the last five updates
(Not available yet.)""",
    handle=_not_yet("/update"),
)

AGENDA = Command(
    name="/agenda",
    help="""*/agenda* — the next meeting's agenda
• `/agenda` — the draft, with the item and publication deadlines
• `/agenda add TITLE [-- PURPOSE]`, e.g. `/agenda add Locality plan -- for decision`; `/agenda add restricted [para N] TITLE`
• `/agenda remove N`, `/agenda publish` (officers)
(Not available yet.)""",
    handle=_not_yet("/agenda"),
)

DIGEST = Command(
    name="/digest",
    help="""*/digest* — the weekly digest
• `/digest` — this week's digest, just for you, e.g. on a Friday to see what is due next week; `/digest post` (officers) — post it to the partnership channel now
(Not available yet.)""",
    handle=_not_yet("/digest"),
)
