"""/calendar: your own subscription link to every meeting of your groups, and
the groups' own feeds."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.core import Command, Context
from services import feed_tokens, groups, invites
from services.errors import PermissionDenied, UserError
from services.text import clip
from storage.models import Group, Meeting, Person

HELP = """*/calendar* — a calendar feed of every meeting of your groups, for Outlook, Google or Apple Calendar
• `/calendar` — your own subscription link (the same link each time you ask), e.g. to paste into Outlook's "Add calendar → From internet" or Google Calendar's "From URL"
• `/calendar actions` — your open action due dates in it too; `/calendar meetings` — meetings only
• `/calendar reset` — a new link; the old one stops working (if you shared it by mistake)
• `/calendar group` — the feed of the group whose channel you are in (elsewhere: of each of your groups); `/calendar group reset` (officers and the chair) — a new one
Your calendar app refreshes it about every hour; cancelled meetings show as cancelled."""

PRIVATE = (
    "Keep it to yourself: anyone with the link can see these meetings. "
    "`/calendar reset` gives you a new link and stops this one working."
)


@dataclass(frozen=True)
class FeedLinks:
    """The two forms of one feed link: webcal:// opens the calendar app and
    subscribes; https:// is what Google Calendar's "From URL" takes."""

    https: str
    webcal: str

    def lines(self) -> str:
        return (
            f"Outlook or Apple Calendar: {self.webcal}\n"
            f"Google Calendar (Other calendars → From URL) or anything else: {self.https}"
        )


def links_for(context: Context, token: str) -> FeedLinks:
    base = _base_url(context)
    https = f"{base}/calendar/{token}.ics"
    return FeedLinks(https=https, webcal="webcal://" + https.split("://", 1)[1])


def group_links(context: Context, group: Group) -> FeedLinks | None:
    """A group's feed links, issuing its token on first use; None when this
    installation publishes no feeds (no PUBLIC_BASE_URL or FEED_SECRET). For the
    calendar line of a changed meeting's post; `/meeting next`, which only
    reads, takes `stored_group_links`."""
    secret = _published_secret(context)
    if secret is None:
        return None
    issued = feed_tokens.current(
        context.session, group=group, secret=secret, now=context.now, actor=context.person
    )
    return links_for(context, issued.token)


def feeds_published(context: Context) -> bool:
    return _published_secret(context) is not None


def _published_secret(context: Context) -> bytes | None:
    """FEED_SECRET, where this installation publishes feeds (PUBLIC_BASE_URL set too)."""
    return context.site.feed_secret if context.site.public_base_url and context.site.feed_secret else None


def stored_group_links(context: Context, group_feed: str | None) -> FeedLinks | None:
    """A group's feed links from its token as read with a meeting ("nonce:hash"),
    without issuing one: for `/meeting next`, which only reads. None when there
    is none yet, or the server's secret no longer derives it."""
    secret = _published_secret(context)
    if group_feed is None or secret is None:
        return None
    token = feed_tokens.token_from_stored(group_feed, secret=secret)
    return links_for(context, token) if token else None


def invite_or_link(context: Context, meeting: Meeting) -> str:
    """For the `meeting_changed` hook of /meeting add, move and cancel: with
    e-mail on, queue this version of the meeting to every member with an
    address and say so; without it, the group's calendar link instead (SPEC 6).
    A line for the channel post; empty when neither is set up."""
    if context.site.email:
        queued = invites.queue_invitations(context.session, meeting=meeting, now=context.now)
        if not queued:
            return ""
        what = "cancellation" if meeting.status == "cancelled" else "invitation"
        return f"Calendar {what}s e-mailed to {queued} member{'s' if queued != 1 else ''}."
    links = group_links(context, meeting.group)
    if links is None:
        return ""
    if meeting.status == "cancelled":  # nothing to add: those who subscribed see it go
        return (
            f"Calendars subscribed to the {meeting.group.name}'s meetings show it as cancelled: {links.https}"
        )
    return f"Add the {meeting.group.name}'s meetings to your calendar: {links.https}"


def handle(context: Context, text: str) -> str:
    words = text.lower().split()
    if words == []:
        return _mine(context)
    if words == ["actions"]:
        return _mine(context, with_actions=True)
    if words in (["meetings"], ["no", "actions"]):
        return _mine(context, with_actions=False)
    if words == ["reset"]:
        return _reset_mine(context)
    if words == ["group"]:
        return _groups(context)
    if words == ["group", "reset"]:
        return _reset_group(context)
    raise UserError(
        f"I don't know `/calendar {clip(text.strip(), 40)}`: try `/calendar`, `/calendar actions`, "
        "`/calendar meetings`, `/calendar reset`, `/calendar group` or `/calendar help`. Nothing was changed."
    )


def _mine(context: Context, *, with_actions: bool | None = None) -> str:
    person = context.require_person()
    secret = _secret(context)
    issued = feed_tokens.current(context.session, person=person, secret=secret, now=context.now, actor=person)
    changed = False
    if with_actions is not None:
        changed = feed_tokens.set_with_actions(
            context.session, row=issued.row, on=with_actions, now=context.now, actor=person
        )
    lines = [f"*Your calendar* — {_what(context, person, issued.row.with_actions)}"]
    if with_actions is not None:
        lines.append(_actions_change(with_actions, changed))
    if issued.renewed:
        lines.append(
            "Your link has changed (the server's feed secret was replaced), so the old one no longer "
            "works: subscribe again with this one."
        )
    lines += [links_for(context, issued.token).lines(), "It refreshes about every hour. " + PRIVATE]
    return "\n".join(lines)


def _reset_mine(context: Context) -> str:
    person = context.require_person()
    secret = _secret(context)
    issued = feed_tokens.reset(context.session, person=person, secret=secret, now=context.now, actor=person)
    return "\n".join(
        [
            "*Your calendar has a new link*: the old one has stopped working, so remove that "
            "subscription from your calendar app and subscribe with this one.",
            links_for(context, issued.token).lines(),
            PRIVATE,
        ]
    )


def _groups(context: Context) -> str:
    person = context.require_person()
    secret = _secret(context)
    scope = _member_groups(context, person)
    blocks = []
    for group in scope:
        issued = feed_tokens.current(
            context.session, group=group, secret=secret, now=context.now, actor=person
        )
        blocks.append(f"*{group.name}* — its meetings only\n" + links_for(context, issued.token).lines())
    shared = (
        "These are the groups' own links, shared by their members"
        if len(blocks) > 1
        else "This is the group's own link, shared by its members"
    )
    return "\n\n".join(blocks) + f"\n{shared}: for just yours, use `/calendar`."


def _reset_group(context: Context) -> str:
    person = context.require_person()
    secret = _secret(context)
    group = groups.by_channel(context.session, context.channel_id)
    if group is None:
        raise UserError(
            "Type `/calendar group reset` in the group's own channel, so it is clear which group's link "
            "to replace. Nothing was changed."
        )
    groups.require_officer(context.session, person, group, "replace its calendar link")
    issued = feed_tokens.reset(context.session, group=group, secret=secret, now=context.now, actor=person)
    links = links_for(context, issued.token)
    context.post(
        group.channel,
        f"The calendar link of the {group.name} has been replaced; the old one no longer works. "
        f"Subscribe again with:\n{links.lines()}",
        key=f"calendar-group-reset:{issued.row.id}",
    )
    return (
        f"*The {group.name} has a new calendar link*, posted in its channel; the old one has stopped working.\n"
        + (links.lines())
    )


def _member_groups(context: Context, person: Person) -> list[Group]:
    mine = groups.of_person(context.session, person)
    here = groups.by_channel(context.session, context.channel_id)
    if here is None:
        if not mine:
            raise UserError(
                "You are in no group yet, so there is no group calendar to show. Nothing was changed."
            )
        return mine
    if here.id not in {g.id for g in mine}:
        officers = groups.officer_names(context.session, here, or_else="its officers")
        raise PermissionDenied(
            f"Only members of the {here.name} can have its calendar link: ask {officers}. Nothing was changed."
        )
    return [here]


def _what(context: Context, person: Person, with_actions: bool) -> str:
    mine = groups.of_person(context.session, person)
    what = (
        f"every meeting of {', '.join(g.name for g in mine)}"
        if mine
        else "no meetings yet: you are in no group"
    )
    if with_actions:
        what += ", and the due dates of your open actions"
    return what + "."


def _actions_change(with_actions: bool, changed: bool) -> str:
    if with_actions:
        return (
            "Your open actions' due dates are now in it, as all-day events."
            if changed
            else "Your open actions' due dates were already in it."
        )
    return "It now shows meetings only." if changed else "It already showed meetings only."


def _base_url(context: Context) -> str:
    if not context.site.public_base_url:
        raise UserError(
            "Calendar links are not set up on this partnerbot: the engineer who runs it sets "
            "PUBLIC_BASE_URL (the server's public address). Nothing was changed."
        )
    return context.site.public_base_url


def _secret(context: Context) -> bytes:
    _base_url(context)
    if not context.site.feed_secret:
        raise UserError(
            "Calendar links are not set up on this partnerbot: the engineer who runs it sets "
            "FEED_SECRET (the secret calendar links are made from). Nothing was changed."
        )
    return context.site.feed_secret


COMMAND = Command(
    name="/calendar",
    help=HELP,
    handle=handle,
    changing=frozenset({"", "actions", "meetings", "no", "reset", "group"}),  # a link is issued as it is read
)
