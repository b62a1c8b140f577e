"""The terminal front end: the same commands, typed; replies and channel posts
printed as readable text; a clock that can be moved to see what falls due."""

from __future__ import annotations

import io
import re
import sys
from datetime import date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import COMMANDS, FORMS, home
from bot.commands.core import Reply, Site, open_form, run, submit
from bot.commands.dates import parse_date, parse_time
from bot.commands.shapes import Button, Choice, Field, Form, Message
from bot.jobs.deliveries import Claimed, GiveUp, send_due
from bot.jobs.run_due import run_due
from services import partnership as partnership_service
from services.clock import MovableClock
from services.dates import format_date, format_when
from services.errors import UserError
from storage.models import Group, Partnership, Person

CONSOLE_HELP = """Type a slash command as in Slack, e.g. `/meeting next`, `/action list`, `/apologies Off sick`.
  as PERSON            act as another person (their id, e.g. `as fire`)
  in GROUP             type as if in a group's channel (`in board`); `in` alone leaves it
  clock                show the clock; `clock 21/04/2015 16:00`, `clock +2d`, `clock +3h` move it
  people               who you can be
  home                 your Home tab, as Slack shows it
  form NAME            open a form a button names (forms otherwise open from their command)
  quit                 leave"""

CANCEL = "cancel"  # typed at any question of a form: leave it, as a Slack form's Cancel button does
# Slack's bold, italic and strike-through, by its own rule: a marker opens after
# a space, punctuation or the start, and closes before one of them or the end,
# with no space inside either; so snake_case_words and 2*3*4 stay as they are.
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
_SHIFT = re.compile(r"^\+(\d{1,4})\s*([dhwm])$")
_UNITS = {"d": "days", "h": "hours", "w": "weeks", "m": "minutes"}


def plain(text: str) -> str:
    """Slack mrkdwn made readable in a terminal: bold, italic and strike-through
    marks taken off (what is struck through says why beside it)."""
    for _ in range(3):  # one mark inside another: *_both_*
        text, marks = _EMPHASIS.subn(r"\2", text)
        if not marks:
            break
    return text


def button_text(button: Button) -> str:
    """A button as what to type instead of pressing it."""
    if button.url:
        return f"[{button.label}: {button.url}]"
    if button.command:
        return f"[{button.label}: {button.command}]"
    return f"[{button.label}: form {button.form}]"


def message_text(message: Message) -> str:
    """A message with its sections, buttons shown as the commands to type."""
    parts = [plain(message.text)] if message.text.strip() else []
    for section in message.sections:
        if section.text.strip():
            parts.append(plain(section.text))
        if section.buttons:
            parts.append("  ".join(button_text(b) for b in section.buttons))
    return "\n".join(parts)


class ConsolePrinter:
    """Delivers the outbox to the terminal instead of Slack."""

    def __init__(self, out: TextIO, channel_names: dict[str, str], people: dict[str, str]) -> None:
        self._out, self._channels, self._people = out, channel_names, people

    def send(self, delivery: Claimed) -> None:
        if delivery.kind == "channel":
            where = f"#{self._channels.get(delivery.target, delivery.target)}"
        elif delivery.kind == "direct":
            where = f"direct message to {self._people.get(delivery.target, delivery.target)}"
        elif delivery.kind == "home":
            return  # a Slack Home tab: the console has none
        elif delivery.kind == "email":  # one line each: a meeting's invitations go to every member
            self._out.write(f"  ▸ e-mail to {delivery.target}: {delivery.payload.get('subject', '')}\n")
            return
        else:
            raise GiveUp(f"the console does not send {delivery.kind}")
        body = message_text(Message.from_payload(delivery.payload)).replace("\n", "\n    ")
        self._out.write(f"  ▸ {where}\n    {body}\n")


class _Cancelled(Exception):
    """`cancel` typed at a form's question."""


class _Interrupted(Exception):
    """A slash command typed at a form's question: the form is left, as closing
    a Slack form leaves it, and the command runs."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def _is_command(typed: str) -> bool:
    """Whether a line typed at a form's question is a slash command."""
    return typed.split(" ", 1)[0].lower() in COMMANDS


class Console:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: MovableClock,
        person_key: str | None,
        out: TextIO | None = None,
        site: Site | None = None,
    ) -> None:
        # Standard output as it is when the console starts, not when this module was imported.
        self.sessions, self.clock, self.out = sessions, clock, out or sys.stdout
        self.site = site or Site()
        self.person_key = person_key
        self.channel: str | None = None
        self.channel_label: str | None = None
        self.lines: TextIO = io.StringIO()
        self.interactive = False
        self._choices_listed: tuple[Choice, ...] = ()  # the choices the form in hand last listed

    # -- the loop ---------------------------------------------------------------

    def loop(self, lines: TextIO | None = None) -> None:
        self.say(f"partnerbot console. {self._whoami()}. Clock: {self._now_text()}. Type `help`.")
        lines = lines or sys.stdin
        self.lines = lines
        self.interactive = interactive = lines.isatty()
        while True:
            if interactive:
                self.out.write(self.prompt())
                self.out.flush()
            line = lines.readline()
            if not line:
                break
            if not interactive and line.strip():
                self.out.write(f"{self.prompt()}{line.rstrip()}\n")
            if self.handle(line.strip()) is False:
                break

    def prompt(self) -> str:
        where = f" #{self.channel_label}" if self.channel_label else ""
        return f"[{self._now_text()}] {self.person_key or 'nobody'}{where} › "

    def handle(self, line: str) -> bool:
        if not line:
            return True
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            if word.startswith("/"):
                self._command(word, rest)
            elif word in ("quit", "exit"):
                return False
            elif word == "help":
                self.say(CONSOLE_HELP)
            elif word == "as":
                self._become(rest)
            elif word == "in":
                self._enter(rest)
            elif word == "clock":
                self._clock(rest)
            elif word == "people":
                self._people()
            elif word == "home":
                self._home()
            elif word == "form":
                self._named_form(rest)
            else:
                self.say(f"I don't know '{word}'. Type `help`.")
        except UserError as error:
            self.say(plain(error.message))
        return True

    def say(self, text: str) -> None:
        self.out.write("  " + text.replace("\n", "\n  ") + "\n")

    # -- what can be typed ---------------------------------------------------------

    def _command(self, name: str, text: str) -> None:
        command = COMMANDS.get(name.lower())
        if command is None:
            self.say(f"There is no {name} command. Commands: {', '.join(COMMANDS)}.")
            return
        reply = run(
            command,
            text,
            sessions=self.sessions,
            clock=self.clock,
            person_key=self.person_key,
            channel_id=self.channel,
            site=self.site,
        )
        self.show(reply)

    def show(self, reply: Reply) -> None:
        """Print a reply, fill in the form it opens if any, then what it posted."""
        shown = message_text(reply.message)
        if shown:
            self.say(shown)
        if reply.form is not None:
            self.fill(reply.form)
        self.deliver()

    # -- forms: one prompt per field, read from the same input as commands ------------

    def fill(self, form: Form) -> None:
        """Ask each field in turn (a blank answer keeps the preset), then submit
        through the same path as a Slack modal; fields refused are asked again."""
        spec = FORMS.get(form.name)
        if spec is None:
            self.say(f"partnerbot does not know the form '{form.name}'. Nothing was saved.")
            return
        self.say(
            f"{form.title}: answer each question; a blank answer keeps what is in [brackets], "
            f"and `{CANCEL}` leaves the form."
        )
        presets = {f.name: f.preset or "" for f in form.fields}
        asking = list(form.fields)
        self._choices_listed = ()
        while True:
            for question in asking:
                try:
                    answer = self._ask(question, presets[question.name])
                except _Cancelled:
                    self.say("Form cancelled: nothing was saved.")
                    return
                except _Interrupted as typed:
                    self.say("Form left for that command: nothing was saved.")
                    self.handle(typed.line)
                    return
                if answer is None:
                    self.say("Form left unfinished: nothing was saved.")
                    return
                presets[question.name] = answer
            reply = submit(
                spec,
                presets,
                dict(form.state),
                sessions=self.sessions,
                clock=self.clock,
                person_key=self.person_key,
                channel_id=self.channel,
                site=self.site,
            )
            if reply.ok or not reply.errors:
                self.show(reply)
                return
            for name, error in reply.errors.items():
                self.say(f"{_label(form, name)}: {plain(error)}")
            asking = [f for f in form.fields if f.name in reply.errors] or list(form.fields)

    def _ask(self, question: Field, preset: str) -> str | None:
        """One field's answer as the form handler takes it; None at the end of
        input. `cancel` (a Slack form's Cancel button) raises _Cancelled, and a
        slash command _Interrupted."""
        # Choices are listed once for a run of questions that share them (a
        # meeting's attendance: present, apologies, absent, in attendance for each),
        # and again after a wrong answer.
        while True:
            if question.kind == "choice" and question.choices != self._choices_listed:
                for number, choice in enumerate(question.choices, start=1):
                    self.say(f"  {number}. {plain(choice.label)}")
                self._choices_listed = question.choices
            several = " (end with a blank line)" if question.kind == "long_text" else ""
            self.out.write(
                f"  {plain(question.label)}{' (optional)' if question.optional else ''}{several}"
                f" [{self._shown(question, preset)}]: "
            )
            self.out.flush()
            line = self.lines.readline()
            if not line:
                self.out.write("\n")
                return None
            typed = line.strip()
            if not self.interactive:
                self.out.write(f"{typed}\n")
            if not typed and (preset or question.optional):
                return preset
            if not typed:  # as a Slack form will not send without it
                self.say(f"This one needs an answer, or type `{CANCEL}` to leave the form.")
                continue
            if typed.lower() == CANCEL:
                raise _Cancelled
            if _is_command(typed):
                raise _Interrupted(typed)
            if question.kind == "long_text":
                return self._more_lines(line)
            try:
                return self._read(question, typed)
            except UserError as error:
                self.say(plain(error.message))
                self._choices_listed = ()

    def _more_lines(self, first: str) -> str:
        """A long answer (a pasted table of actions, a report) runs up to a blank
        line; its lines keep their tabs, which separate a table's columns. A
        slash command on a line of its own leaves the form, as at any question."""
        lines = [first.rstrip("\r\n")]
        while True:
            line = self.lines.readline()
            if not line or not line.strip():
                break
            if not self.interactive:
                self.out.write(f"  … {line.strip()}\n")
            if _is_command(line.strip()):
                raise _Interrupted(line.strip())
            lines.append(line.rstrip("\r\n"))
        return "\n".join(lines).strip()

    def _read(self, question: Field, typed: str) -> str:
        if question.kind == "choice":
            if typed.isdigit() and 1 <= int(typed) <= len(question.choices):
                return question.choices[int(typed) - 1].value
            for choice in question.choices:
                if typed.lower() in (choice.value.lower(), choice.label.lower()):
                    return choice.value
            raise UserError(
                f"Type a number from 1 to {len(question.choices)}, or a blank line to keep the preset."
            )
        if question.kind == "date":
            return parse_date(typed, today=self.clock.now().astimezone(self._zone()).date()).isoformat()
        return typed

    def _shown(self, question: Field, preset: str) -> str:
        if not preset:
            return ""
        if question.kind == "choice":
            return next((plain(c.label) for c in question.choices if c.value == preset), preset)
        if question.kind == "date":
            try:
                return format_date(date.fromisoformat(preset))
            except ValueError:
                return preset
        return plain(preset)

    def _named_form(self, name: str) -> None:
        spec = FORMS.get(name.strip().lower())
        if spec is None or spec.open is None:
            self.say(f"There is no form '{name}' to open here. Forms: {', '.join(FORMS) or 'none'}.")
            return
        self.show(
            open_form(
                spec,
                sessions=self.sessions,
                clock=self.clock,
                person_key=self.person_key,
                channel_id=self.channel,
                site=self.site,
            )
        )

    def deliver(self, *, scheduled: bool = False) -> None:
        """Print what the outbox holds that is due, as Slack would show it; with
        `scheduled`, first queue what the schedule says is due (as run-due does)."""
        with self.sessions() as session:
            channels = {g.channel: g.slug for g in session.scalars(select(Group)) if g.channel}
            partnership = session.scalar(select(Partnership))
            if partnership and partnership.channel:
                channels[partnership.channel] = "partnership"
            people = {p.slack_user_id: p.name for p in session.scalars(select(Person)) if p.slack_user_id}
        printer = ConsolePrinter(self.out, channels, people)
        if scheduled:
            run_due(sessions=self.sessions, clock=self.clock, sender=printer)
        else:
            send_due(self.sessions, self.clock, printer)

    def _become(self, key: str) -> None:
        with self.sessions() as session:
            person = session.scalar(select(Person).where(Person.key == key.lower()))
            if person is None:
                raise UserError(f"There is no person '{key}'. Type `people` to see who there is.")
            self.person_key = person.key
            self.say(f"You are now {person.name} ({person.title or 'no title'}).")

    def _enter(self, slug: str) -> None:
        if not slug:
            self.channel = self.channel_label = None
            self.say("You are no longer in a group's channel.")
            return
        with self.sessions() as session:
            group = session.scalar(select(Group).where(Group.slug == slug.lower()))
            if group is None or not group.channel:
                slugs = ", ".join(session.scalars(select(Group.slug)))
                raise UserError(f"There is no group '{slug}' with a channel. Groups: {slugs}.")
            self.channel, self.channel_label = group.channel, group.slug
            self.say(f"You are now typing in #{group.slug} ({group.name}).")

    def _clock(self, text: str) -> None:
        if text:
            self.clock.set(self._parse_moment(text))
            self.deliver(scheduled=True)
        self.say(f"The clock says {self._now_text()}.")

    def _parse_moment(self, text: str) -> datetime:
        zone = self._zone()
        now = self.clock.now().astimezone(zone)
        shift = _SHIFT.match(text)
        if shift:
            return now + timedelta(**{_UNITS[shift.group(2)]: int(shift.group(1))})
        head, _, last = text.rpartition(" ")
        try:
            moment = parse_time(last)
        except UserError:
            moment, head = None, text
        day = parse_date(head, today=now.date()) if head else now.date()
        return datetime.combine(day, moment or time(9, 0), zone)

    def _people(self) -> None:
        with self.sessions() as session:
            people = session.scalars(select(Person).order_by(Person.key)).all()
            self.say("\n".join(_whom(p) for p in people))

    def _home(self) -> None:
        """The Home tab as the outbox publishes it (bot/commands/home.py), read now."""
        with self.sessions() as session:
            person = session.scalar(select(Person).where(Person.key == (self.person_key or "")))
            if person is None:
                raise UserError("The Home tab is a person's own: be someone first (`as PERSON`).")
            partnership = partnership_service.get(session)
            tab = home.view(
                session, person=person, now=self.clock.now(), zone=partnership_service.zone(partnership)
            )
            self.say(message_text(tab))

    def _zone(self):
        with self.sessions() as session:
            return partnership_service.zone(partnership_service.get(session))

    def _now_text(self) -> str:
        try:
            return format_when(self.clock.now().astimezone(self._zone()))
        except UserError:
            return format_when(self.clock.now())

    def _whoami(self) -> str:
        if not self.person_key:
            return "You are nobody in particular (use `as PERSON`)"
        with self.sessions() as session:
            person = session.scalar(select(Person).where(Person.key == self.person_key))
        if person is None:
            return f"There is no person '{self.person_key}' (use `as PERSON`)"
        return f"You are {person.name} ({person.title or 'no title'})"


def _label(form: Form, name: str) -> str:
    return next((plain(f.label) for f in form.fields if f.name == name), name)


def _whom(person: Person) -> str:
    """A line of `people`: id, name, title, and whether they have left."""
    line = f"{person.key:<14} {person.name}" + (f" — {person.title}" if person.title else "")
    return line + (" (has left the partnership)" if person.left_at else "")
