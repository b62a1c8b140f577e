"""/update: workstream highlight reports, in full or as a quick line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands.core import Command, Context, FormSpec, Reply
from bot.commands.lines import RAG_MARK
from bot.commands.shapes import Choice, Field, Form
from services import updates, workstreams
from services.dates import format_date
from services.errors import PermissionDenied, UserError
from services.text import clip
from storage.models import RAG_STATUSES, Person, Update, Workstream

HELP = """*/update* — workstream highlight reports
• `/update` — choose a workstream and fill in its highlight report
• `/update WORKSTREAM` — the highlight-report form, e.g. `/update joint-commissioning`
• `/update WORKSTREAM [green|amber|red] TEXT` — a quick update, e.g. `/update joint-commissioning amber Pooled budget delayed to Q3`; the status stays as it was when not given
• `/update WORKSTREAM history` — the last five updates
• `/update WORKSTREAM close` (officers) — close a finished workstream; `/update WORKSTREAM reopen` — open it again
WORKSTREAM is its slug or the start of it (`joint`). Leads, contributing partners and officers post updates."""

HISTORY_CLIP = 300

HIGHLIGHT_FORM = "update-highlight"
CHOOSE_FORM = "update-workstream"


@dataclass(frozen=True)
class Choose:
    """`/update`: which workstream?"""


@dataclass(frozen=True)
class OpenForm:
    workstream: str


@dataclass(frozen=True)
class Quick:
    workstream: str
    rag: str | None
    text: str


@dataclass(frozen=True)
class Misspelt:
    """A quick update whose first word looks like a status typed wrong (`ambr`):
    refused, not posted to a channel with the status unchanged and the typo in it."""

    workstream: str
    typed: str
    meant: str


@dataclass(frozen=True)
class Trailing:
    """`history` asked for more or fewer (`history 10`, `history all`): refused,
    not posted to a channel as an update that begins with that word. (An update
    may begin with it: `history of the pooled budget ...`.)"""

    workstream: str
    verb: str


@dataclass(frozen=True)
class History:
    workstream: str


@dataclass(frozen=True)
class Close:
    workstream: str


@dataclass(frozen=True)
class Reopen:
    workstream: str


_HOW_MANY = re.compile(r"(?:last\s+)?\d+|all|more", re.IGNORECASE)

Intent = Choose | OpenForm | Quick | Misspelt | Trailing | History | Close | Reopen


def parse(text: str) -> Intent:
    """Text after `/update` -> what the person asked for. The workstream is
    looked up later; this only splits the words."""
    name, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    if not name:
        return Choose()
    if not rest:
        return OpenForm(name)
    word, _, after = rest.partition(" ")
    keyword = word.lower().rstrip(":,.-")
    if keyword == "history" and _HOW_MANY.fullmatch(after.strip()):  # meant to read, not to post
        return Trailing(name, keyword)
    if keyword == "history" and not after.strip():
        return History(name)
    if keyword == "close" and not after.strip():
        return Close(name)
    if keyword == "reopen" and not after.strip():
        return Reopen(name)
    if keyword in RAG_STATUSES:
        return Quick(name, keyword, after.strip())
    meant = misspelt_status(keyword)
    if meant is not None:
        return Misspelt(name, word.rstrip(":,.-"), meant)
    return Quick(name, None, rest)


# Words one letter from a status that people mean as words, or as names.
_NOT_TYPOS = frozenset({"ember", "umber", "camber", "greed", "greet", "greek", "greer", "greens", "preen"})


def misspelt_status(word: str) -> str | None:
    """The status `word` (lower case) is a slip of the keyboard for, if it is one:
    amber or green with one letter missing, extra, wrong or swapped with the
    next (`ambr`, `gren`, `grene`); red only with one missing, doubled or
    swapped (`rd`, `redd`, `rde`), since one letter changed or added makes
    words and names (`read`, `reed`, `Fred`, `bed`); amber by the other names
    people give it (`yellow`, and `orange`, as its circle shows). Else None."""
    if word in _NOT_TYPOS:
        return None
    if word in ("yellow", "orange"):
        return "amber"
    for status in ("amber", "green"):
        if _one_slip(word, status):
            return status
    slips = {"rd", "rdd", "rrd", "redd", "rred", "rde", "erd", "dre"}
    return "red" if word in slips else None


def _one_slip(word: str, meant: str) -> bool:
    """Whether `word` is `meant` with one letter left out, added, changed, or
    swapped with its neighbour (and not `meant` itself)."""
    if word == meant or abs(len(word) - len(meant)) > 1:
        return False
    if len(word) == len(meant):
        differ = [i for i, (a, b) in enumerate(zip(word, meant, strict=True)) if a != b]
        if len(differ) == 1:
            return True
        return (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and word[differ[0]] == meant[differ[1]]
            and word[differ[1]] == meant[differ[0]]
        )
    shorter, longer = sorted((word, meant), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def handle(context: Context, text: str) -> str | Reply:
    intent = parse(text)
    session = context.session
    if isinstance(intent, Choose):
        return choose_form(context)
    if isinstance(intent, Quick) and context.person is not None:
        # The workstream and what posting to it reads first, asked together.
        found, before = updates.find_to_post(session, intent.workstream, actor=context.person)
        return post(context, found, updates.Report(rag=intent.rag, progress=intent.text), before=before)
    workstream = workstreams.find(session, intent.workstream)
    match intent:
        case Misspelt():
            raise UserError(
                f"'{intent.typed}' is not a status: did you mean {intent.meant}? Type "
                f"`/update {workstream.slug} {intent.meant} TEXT`. To begin an update with the word "
                f"'{intent.typed}', give its status (green, amber or red) before it. Nothing was changed."
            )
        case Trailing():
            raise UserError(
                f"`/update {workstream.slug} {intent.verb}` shows the last five and takes nothing after it. To begin an update with "
                f"the word '{intent.verb}', give its status (green, amber or red) before it. Nothing was changed."
            )
        case OpenForm():
            return highlight_form(context, workstream)
        case History():
            return _history(context, workstream)
        case Close():
            return _set_open(context, workstream, is_open=False)
        case Reopen():
            return _set_open(context, workstream, is_open=True)
        case Quick():
            return post(context, workstream, updates.Report(rag=intent.rag, progress=intent.text))
    raise AssertionError(intent)


# -- forms -------------------------------------------------------------------------------


def choose_form(context: Context) -> Reply:
    form = open_choice(context)
    choices = ", ".join(c.value for c in form.fields[0].choices)
    return Reply(text=f"Choose a workstream to update: {choices}", form=form)


def open_choice(context: Context) -> Form:
    """Which workstream: the person's own first (those they lead, then contribute
    to), then those they look after as an officer; none they may not report on."""
    person = context.require_person()
    session = context.session
    own = workstreams.of_person(session, person)
    own_ids = {r.workstream.id for r in own}
    every = [w for w in workstreams.every(session) if w.is_open]
    others = [w for w in every if w.id not in own_ids and workstreams.looks_after(session, person, w)]
    choices = tuple(
        Choice(r.workstream.slug, f"{r.workstream.name} ({r.role})") for r in own if r.workstream.is_open
    )
    choices += tuple(Choice(w.slug, w.name) for w in others)
    if not every:
        raise UserError("There are no open workstreams to report on. Nothing was changed.")
    if not choices:
        raise PermissionDenied(
            "You lead or contribute to no workstream, so there is none for you to report on. A "
            "workstream's updates come from its leads, its contributing partners and the officers of the "
            "group it reports to: ask an officer to add you to one. Nothing was changed."
        )
    return Form(
        name=CHOOSE_FORM,
        title="Workstream update",
        fields=(Field("workstream", "Workstream", kind="choice", choices=choices, preset=choices[0].value),),
        submit_label="Next",
    )


def highlight_form(context: Context, workstream: Workstream) -> Reply:
    person = context.require_person()
    workstreams.check_can_report(context.session, actor=person, workstream=workstream)
    workstreams.check_open(workstream)
    previous = updates.last(context.session, workstream)
    rag_choices = tuple(Choice(rag, RAG_MARK[rag]) for rag in RAG_STATUSES)
    fields = (
        Field(
            "rag",
            "Overall status",
            kind="choice",
            choices=rag_choices,
            preset=previous.rag if previous else "green",
        ),
        *(
            Field(name, label, kind="long_text", optional=name != "progress", max_length=updates.MAX_PART)
            for name, label in updates.PARTS
        ),
    )
    form = Form(
        name=HIGHLIGHT_FORM,
        title=f"{workstream.name} update",  # Slack's renderer clips it to a modal title's 24
        fields=fields,
        submit_label="Post",
        state={"workstream": workstream.slug},
    )
    return Reply(
        text=f"The highlight report for {workstream.name}: or type "
        f"`/update {workstream.slug} [green|amber|red] TEXT` for a quick one.",
        form=form,
    )


def submit_choice(context: Context, values: dict[str, str], state: dict[str, str]) -> Reply:
    """The workstream chosen: on to its highlight report."""
    return highlight_form(context, workstreams.find(context.session, values.get("workstream", "")))


def submit_highlight(context: Context, values: dict[str, str], state: dict[str, str]) -> str:
    workstream = workstreams.find(context.session, state.get("workstream", ""))
    rag = (values.get("rag") or "").strip().lower() or None
    report = updates.Report(rag=rag, **{name: values.get(name) or "" for name, _ in updates.PARTS})
    return post(context, workstream, report)


# -- saving and posting -------------------------------------------------------------------


def post(
    context: Context, workstream: Workstream, report: updates.Report, before: updates.Before | None = None
) -> str:
    person = context.require_person()
    posted = updates.post(
        context.session, now=context.now, actor=person, workstream=workstream, report=report, before=before
    )
    group = workstreams.reporting_group(context.session, workstream)
    channel = (group.channel if group else None) or context.partnership.channel
    context.post(channel, announcement(workstream, posted, person), key=f"update:{posted.id}")
    status = _status_line(posted)
    where = f" and posted to the {group.name} channel" if group and group.channel else ""
    if channel and not where:
        where = " and posted to the partnership channel"
    return f"Saved{where}: *{workstream.name}* — {status}."


def announcement(workstream: Workstream, posted: updates.Posted, author: Person) -> str:
    organisation = f" ({author.organisation.name})" if author.organisation else ""
    lines = [
        f"*{workstream.name}* — update from {author.name}{organisation}",
        f"Status: {_status_line(posted)}",
    ]
    for name, label in updates.PARTS:
        value = posted.parts[name]
        if value:
            lines.append(f"*{label}*\n{value}" if posted.full else value)
    return "\n".join(lines)


def _status_line(posted: updates.Posted) -> str:
    mark = f"*{RAG_MARK[posted.rag]}*"
    if posted.changed and posted.previous:
        return f"{mark}, changed from {RAG_MARK[posted.previous]}"
    return mark


# -- history and closing ------------------------------------------------------------------


def _history(context: Context, workstream: Workstream) -> str:
    context.require_person()  # a workstream's reports are for the partnership's people only
    found = updates.history(context.session, workstream)
    closed = " (closed)" if not workstream.is_open else ""
    if not found:
        return f"{workstream.name}{closed} has no updates yet: `/update {workstream.slug}` posts the first."
    authors = updates.authors(context.session, found)
    last = "The only update" if len(found) == 1 else f"The last {len(found)} updates"
    lines = [f"{last} of *{workstream.name}*{closed}:"]
    for update in found:
        author = authors.get(update.author_id) if update.author_id else None
        day = format_date(context.local(update.created_at).date())
        summary = _summary(update)
        by = f" ({author.name})" if author else ""
        lines.append(f"• {day} — {RAG_MARK[update.rag]}{by}: {clip(' '.join(summary.split()), HISTORY_CLIP)}")
    return "\n".join(lines)


# A history line's names for a report's parts after its progress.
HISTORY_LABELS = {
    "issues": "Issues",
    "risks": "Risks",
    "next_steps": "Next steps",
    "decision_needed": "Decision needed",
}


def _summary(update: Update) -> str:
    """A report on one line: its progress, then each other part it has, named."""
    parts = [(name, getattr(update, name)) for name, _ in updates.PARTS if getattr(update, name)]
    return " — ".join(
        f"*{HISTORY_LABELS[name]}*: {text}" if name in HISTORY_LABELS else text for name, text in parts
    )


def _set_open(context: Context, workstream: Workstream, *, is_open: bool) -> str:
    person = context.require_person()
    changed = workstreams.set_open(
        context.session, now=context.now, actor=person, workstream=workstream, is_open=is_open
    )
    if not changed:
        return f"{workstream.name} is {'open' if is_open else 'closed'} already: nothing changed."
    if is_open:
        return (
            f"{workstream.name} is open again: it takes updates (`/update {workstream.slug}`) and is back "
            "in the weekly digest."
        )
    return (
        f"{workstream.name} is now closed: it takes no more updates and leaves the weekly digest. "
        f"Its history stays (`/update {workstream.slug} history`)."
    )


COMMAND = Command(name="/update", help=HELP, handle=handle)
FORMS = (
    FormSpec(name=CHOOSE_FORM, submit=submit_choice, open=open_choice),
    FormSpec(name=HIGHLIGHT_FORM, submit=submit_highlight),
)
