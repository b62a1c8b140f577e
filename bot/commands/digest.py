"""/digest: this week's digest, privately; `/digest post` (officers) posts it now."""

from __future__ import annotations

from bot.commands.core import Command, Context, Reply
from bot.jobs import digest as digest_job
from services import audit, groups, outbox
from services import digest as digest_service
from services.dates import format_time
from services.errors import PermissionDenied, UserError
from services.text import clip

HELP = """*/digest* — the weekly digest
• `/digest` — this week's digest, just for you, e.g. on a Friday to see what is due next week
• `/digest post` (officers) — post it to the partnership channel now
It is posted by itself on the partnership's digest day and time, once that day however posted."""


def handle(context: Context, text: str) -> str | Reply:
    word = text.strip().lower()
    if word not in ("", "post"):
        raise UserError(
            f"`/digest` takes nothing, or `post`; not '{clip(text.strip(), 40)}'. "
            "`/digest` shows this week's digest to you; `/digest post` (officers) posts it. "
            "Nothing was changed."
        )
    person = context.require_person()
    if word == "post" and not groups.is_officer(context.session, person):
        officers = ", ".join(p.name for p in groups.all_officers(context.session)[:4])
        raise PermissionDenied(
            "Only an officer or the chair can post the digest"
            + (f": ask {officers}" if officers else "")
            + ". `/digest` shows it to you. Nothing was changed."
        )
    message = digest_job.render(digest_job.build_now(context.session, context.partnership, context.now))
    if word == "":
        return Reply(text=message.text, sections=message.sections)
    channel = context.partnership.channel
    if not channel:
        raise UserError(
            "The partnership has no digest channel: the engineer who runs partnerbot sets "
            "`partnership.channel` in the partnership file. Nothing was changed."
        )
    # On the digest day this is that day's digest, posted early (the scheduled one
    # then finds it sent) or again (refused); on another day, one of its own.
    if digest_service.scheduled_on(context.partnership, context.today):
        key = digest_service.key_of(context.today)
    else:
        key = f"digest-post:{context.local(context.now).strftime('%Y-%m-%dT%H:%M')}"
    if not context.post_once(channel, message.text, key=key, sections=message.sections):
        queued = outbox.queued(context.session, key)
        posted = queued.created_at if queued is not None else context.now
        raise UserError(
            f"Today's digest went to the partnership channel at {format_time(context.local(posted))}: "
            "it is posted once. `/digest` shows it to you as it stands now. Nothing was changed."
        )
    audit.record(context.session, actor=person, what="digest.post", subject="digest", at=context.now)
    return Reply(
        text=f"Posted this week's digest to the partnership channel, as below.\n\n{message.text}",
        sections=message.sections,
    )


COMMAND = Command(
    name="/digest", help=HELP, handle=handle, reading=frozenset({""}), changing=frozenset({"post"})
)
