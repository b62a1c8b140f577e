"""Reading a What / Who / When table pasted from minutes, row by row.

Pure: text in, rows out, each read or refused with why. Columns are split by
tabs (a table copied from Word or Excel), pipes (`| What | Who | When |`), or
runs of two or more spaces (a table typed in plain text). Owners are names as
the minutes write them; who they are is decided later (services/people.resolve).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.commands.dates import ACCEPTED_DUES, parse_date, parse_due
from services.errors import UserError
from services.text import clip

MAX_ROWS = 200
MAX_CHARS = 40_000  # a 200-row table with long wording; Slack's text field holds 3,000 per field
MAX_WHAT = 1000
MAX_WHO = 200

# Columns are split on "|", but not on the one inside a mention (<@U0FIRE001|ray>).
_PIPE = re.compile(r"\|(?![^<>]*>)")
_SPACES = re.compile(r"[ \u00a0]{2,}")
_TABS = re.compile(r"\t+")
_RULE = re.compile(r"^[\s|:+=-]*$")  # `|---|---|---|` under a Markdown header, or `----`
_ITEM_NUMBER = re.compile(r"^[0-9]{1,3}[.)]?$")
# "Next meeting", "by the next meeting", "at next meeting": due at the group's next meeting.
_NEXT_MEETING = re.compile(r"(?:(?:by|at|for|before) )?(?:the )?next (?:meeting|board)")
_HEADER_WORDS = frozenset(
    """what who when action actions owner owners lead by due date deadline timescale
    timescales responsible target description item task""".split()
) | {"by when", "due date", "target date", "action owner", "lead officer", "by whom", "action required"}


def says_next_meeting(when: str) -> bool:
    """Whether a When names no date but the group's next meeting ("by the next meeting")."""
    return _NEXT_MEETING.fullmatch(" ".join(when.lower().split())) is not None


@dataclass(frozen=True)
class Row:
    """One line of the table: read (what, who, due) or not (`problem` says why)."""

    line: int  # 1-based, as the paste numbers it
    text: str  # the line as pasted, for showing a row that could not be read
    what: str = ""
    who: str = ""
    due: date | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    header: bool  # a header row was found and skipped

    @property
    def problems(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.ok)


def read_table(text: str, *, today: date, next_meeting: date | None = None) -> Table:
    """Every row of a pasted table. Dates without a year are the next such date on
    or after `today` (pass the meeting's day); "Next meeting" is `next_meeting`
    (the group's next after it). Refuses a paste with no rows at all, or one far
    too big to be a table of actions."""
    if len(text) > MAX_CHARS:
        raise UserError(
            f"That paste is {len(text):,} characters; a table of actions can be at most {MAX_CHARS:,}. "
            "Nothing was changed."
        )
    lines = [(n, line) for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1)]
    lines = [(n, line) for n, line in lines if line.strip() and not _RULE.match(line)]
    header = bool(lines) and _is_header(_cells(lines[0][1]), today)
    if header:
        lines = lines[1:]
    if not lines:
        raise UserError(
            "There is no table there: paste the What / Who / When rows from the minutes, one action "
            "a line, columns separated by tabs, `|` or two spaces, e.g. "
            "`Circulate Away Day outcomes | Hannah Hurst | 17.02.15`. Nothing was changed."
        )
    if len(lines) > MAX_ROWS:
        raise UserError(
            f"That table has {len(lines)} rows; paste at most {MAX_ROWS} at a time. Nothing was changed."
        )
    return Table(rows=tuple(_row(n, line, today, next_meeting) for n, line in lines), header=header)


def _cells(line: str) -> list[str]:
    stripped = line.strip()
    if "\t" in stripped:
        cells = _TABS.split(stripped)
    elif _PIPE.search(stripped):
        cells = _PIPE.split(stripped.strip("|"))
    else:
        cells = _SPACES.split(stripped)
    return [" ".join(c.split()) for c in cells]


def _is_header(cells: list[str], today: date) -> bool:
    """A first row naming the columns (What / Who / When, Action / Owner / Due date)
    and holding no date."""
    names = [c.lower().rstrip(":?") for c in cells]
    return any(name in _HEADER_WORDS for name in names) and not any(_reads_as_date(c, today) for c in cells)


def _reads_as_date(cell: str, today: date) -> bool:
    try:
        parse_date(cell, today=today)
    except UserError:
        return False
    return True


def _row(number: int, line: str, today: date, next_meeting: date | None) -> Row:
    cells = _cells(line)
    shown = clip(" | ".join(cells), 160)
    if len(cells) == 4 and _ITEM_NUMBER.match(cells[0]):
        cells = cells[1:]  # a numbered table: the item number is not part of the action
    if len(cells) != 3:
        return Row(
            number,
            shown,
            problem=f"it has {len(cells)} column{'s' if len(cells) != 1 else ''}, not three "
            "(What, Who, When): separate them with a tab, `|` or two spaces",
        )
    what, who, when = cells
    if not what:
        return Row(number, shown, problem="it does not say what the action is")
    if len(what) > MAX_WHAT:
        return Row(number, shown, problem=f"the action is {len(what):,} characters; at most {MAX_WHAT:,}")
    if not who:
        return Row(number, shown, problem="it does not say who owns the action")
    if len(who) > MAX_WHO:
        return Row(number, shown, problem=f"the owner is {len(who):,} characters; at most {MAX_WHO}")
    if not when:
        return Row(number, shown, problem=f"it has no date: give one such as {ACCEPTED_DUES}")
    if says_next_meeting(when):
        if next_meeting is None:
            return Row(number, shown, problem="the group has no next meeting to date it by: give a date")
        return Row(number, shown, what=what, who=who, due=next_meeting)
    try:
        due = parse_due(when, today=today)
    except UserError as error:
        return Row(number, shown, problem=_without_nothing_changed(error.message))
    return Row(number, shown, what=what, who=who, due=due)


def _without_nothing_changed(message: str) -> str:
    # A row's problem is one part of a reply that says once that nothing was saved.
    return message.removesuffix(" Nothing was changed.").rstrip(".")
