"""/action import: a meeting's What / Who / When table, pasted, read row by row,
then saved whole with one press of Save."""

from __future__ import annotations

from datetime import date

from bot.commands.action_table import Row, read_table
from bot.commands.core import Context, FormSpec, Reply
from bot.commands.lines import action_line, group_meeting
from bot.commands.shapes import Button, Choice, Field, Form, Section
from services import action_imports, actions, groups, meetings, people
from services.action_imports import ImportRow
from services.dates import format_date
from services.errors import FieldErrors, NotFound, UserError
from services.text import clip
from storage.models import Meeting

FORM = "action-import"
BAD_ROWS_SHOWN = 8  # a field's error message is short
SECTION_CHARS = 2800  # a Slack section holds 3,000 characters
MAX_SECTIONS = 40


def form(context: Context) -> Reply:
    return Reply(
        text="Paste the What / Who / When table from the minutes, and say which meeting it came from.",
        form=open_form(context),
    )


def open_form(context: Context) -> Form:
    """The paste form: the table, and which meeting (the group's last held one preset)."""
    person = context.require_person()
    scope = groups.in_scope(context.session, person=person, channel_id=context.channel_id)
    found = action_imports.source_meetings(context.session, groups=scope, now=context.now)
    if not found:
        raise NotFound(
            "None of your groups has held a meeting yet, so there are no minutes to import actions "
            "from: add them one by one with `/action add WHAT | WHO | WHEN`. Nothing was changed."
        )
    choices = tuple(Choice(str(m.id), _meeting_label(context, m)) for m in found)
    return Form(
        name=FORM,
        title="Import actions",
        # The table first, as the prompt says and as people do: paste, then check the meeting.
        fields=(
            Field(
                "table",
                "What / Who / When table",
                kind="long_text",
                hint="One action a line, columns separated by tabs (as copied from Word), `|` or two "
                "spaces, e.g. Circulate Away Day outcomes | Hannah Hurst | 17.02.15. "
                "A header row is skipped.",
                max_length=3000,
            ),
            Field("meeting", "Meeting", kind="choice", choices=choices, preset=choices[0].value),
        ),
        submit_label="Read",
    )


def _meeting_label(context: Context, meeting: Meeting) -> str:
    return clip(f"{meeting.group.abbreviation} {format_date(context.local(meeting.starts_at).date())}", 75)


def submit(context: Context, values: dict[str, str], state: dict[str, str]) -> Reply:
    """Read the pasted table: each row, and each it could not read with why. A
    table that reads whole is kept for the Save button; one that does not saves
    nothing."""
    person = context.require_person()
    action_imports.check_can_import(context.session, person)
    meeting = _chosen_meeting(context, values.get("meeting", ""))
    after = meetings.upcoming(context.session, groups=[meeting.group], now=meeting.starts_at, limit=1)
    table = read_table(
        values.get("table") or "",
        today=context.local(meeting.starts_at).date(),
        next_meeting=context.local(after[0].starts_at).date() if after else None,
    )
    owners = people.resolve_many(context.session, [row.who for row in table.rows if row.ok], owning=True)
    read: list[tuple[Row, ImportRow | None, str | None]] = []
    for row in table.rows:
        owner = owners.get(row.who)
        if not row.ok or row.due is None:
            read.append((row, None, row.problem))
        elif isinstance(owner, UserError):
            read.append((row, None, owner.message.removesuffix(" Nothing was changed.").rstrip(".")))
        elif owner is not None:
            read.append((row, ImportRow(what=row.what, owner=owner, due=row.due), None))
    where = group_meeting(meeting, context.zone)
    bad = [(row, why) for row, _, why in read if why]
    if bad:
        # Under the table field, so the paste stays in the form to be put right.
        lines = [f"✗ line {row.line}: {row.text} — {why}." for row, why in bad]
        shown = clip("\n".join(lines[:BAD_ROWS_SHOWN]), 1500)
        if len(lines) > BAD_ROWS_SHOWN:
            shown += f"\n…and {len(lines) - BAD_ROWS_SHOWN} more"
        raise FieldErrors(
            {
                "table": f"I could not read {len(bad)} of the {len(read)} rows, so nothing was saved:\n"
                f"{shown}\nPut them right and read the table again."
            }
        )
    every_row = [imported for _, imported, _ in read if imported is not None]
    # Rows already open as actions (added in the channel as the meeting went on)
    # are shown, and not saved again.
    already = actions.open_the_same(context.session, [(r.what, r.owner, r.due) for r in every_row])
    rows = [row for index, row in enumerate(every_row) if index not in already]
    refs = ", ".join(f"A{number}" for number, _ in already.values())
    if not rows:
        return Reply(text=f"Every row of this table is an open action already ({refs}): nothing to save.")
    draft = action_imports.prepare(context.session, now=context.now, actor=person, meeting=meeting, rows=rows)
    if draft.saved_at is not None:
        return Reply(
            text=f"This table was saved already, for {where}: nothing more to do. "
            f"`/action list all` shows the actions.",
        )
    lines = [
        _row_line(number, imported, context.today, already.get(number - 1))
        for number, imported in enumerate(every_row, 1)
    ]
    header = " (the header row was skipped)" if table.header else ""
    header += _overdue(every_row, context.today)
    if already:
        header += (
            f"; {len(already)} {'is' if len(already) == 1 else 'are'} open already ({refs}): not saved again"
        )
    save = Button(
        f"Save {len(rows)} action{'s' if len(rows) != 1 else ''}",
        command=f"/action import save {draft.key}",
        style="primary",
    )
    sections = _sections(lines)
    sections = sections[:-1] + (Section(sections[-1].text, buttons=(save,)),)
    return Reply(
        text=f"I read {len(every_row)} action{'s' if len(every_row) != 1 else ''} for {where}{header}. "
        "Nothing is saved until you press Save.",
        sections=sections,
    )


def _overdue(rows: list[ImportRow], today: date) -> str:
    """How many of the rows read are overdue already, said after the count."""
    overdue = sum(row.due < today for row in rows)
    if not overdue:
        return ""
    if overdue == len(rows):
        return ": it is already overdue" if overdue == 1 else ": all of them are already overdue"
    return f": {overdue} of them {'is' if overdue == 1 else 'are'} already overdue"


def _row_line(number: int, imported: ImportRow, today: date, open_as: tuple[int, str] | None) -> str:
    owner = imported.owner.name
    if imported.owner.person is None:
        owner += " (free text: not a person in the partnership)"
    line = f"{number}. {imported.what} — {owner}, due {format_date(imported.due)}"
    if open_as is not None:
        return f"~{line}~ (open already as A{open_as[0]}: not saved again)"
    return line + (" (already overdue)" if imported.due < today else "")


def _sections(lines: list[str]) -> tuple[Section, ...]:
    """Lines gathered into sections within Slack's limits; the rest counted."""
    sections: list[str] = []
    for index, line in enumerate(lines):
        line = clip(line, SECTION_CHARS)
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_CHARS:
            sections[-1] += "\n" + line
        elif len(sections) < MAX_SECTIONS:
            sections.append(line)
        else:
            sections[-1] = clip(sections[-1], SECTION_CHARS - 40) + f"\n…and {len(lines) - index} more"
            break
    return tuple(Section(text) for text in sections)


def _chosen_meeting(context: Context, value: str) -> Meeting:
    meeting = context.session.get(Meeting, int(value)) if value.strip().isdigit() else None
    # Only a meeting the form could offer: a forged choice names no other group's meeting.
    scope = groups.in_scope(context.session, person=context.person, channel_id=context.channel_id)
    if (
        meeting is None
        or meeting.group_id not in {group.id for group in scope}
        or meeting.status == "cancelled"
        or meeting.starts_at > context.now
    ):
        raise UserError(
            "Choose a meeting that has been held for the table to belong to. Nothing was changed."
        )
    return meeting


def save(context: Context, key: str) -> str:
    person = context.require_person()
    saved = action_imports.save(context.session, now=context.now, actor=person, key=key)
    where = f" for {group_meeting(saved.meeting, context.zone)}" if saved.meeting else ""
    refs = _refs(saved.actions)
    if not saved.first_time:
        return f"This table was saved already{where}, as {refs}: nothing changed."
    shown = "\n".join(f"• {action_line(a, context.today)}" for a in saved.actions[:20])
    more = f"\n…and {len(saved.actions) - 20} more" if len(saved.actions) > 20 else ""
    return f"Saved {len(saved.actions)} action{'s' if len(saved.actions) != 1 else ''}{where}: {refs}.\n{shown}{more}"


def _refs(found: list) -> str:
    if not found:
        return "no actions"
    return found[0].ref if len(found) == 1 else f"{found[0].ref}–{found[-1].ref}"


FORM_SPEC = FormSpec(name=FORM, submit=submit, open=open_form)
