"""The terminal front end: the same commands, typed; replies and channel posts
printed as readable text; a clock that can be moved to see what falls due."""

from __future__ import annotations

import re
import sys
from datetime import datetime, time, timedelta
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import COMMANDS
from bot.commands.core import Site, run
from bot.commands.dates import parse_date, parse_time
from bot.jobs.deliveries import GiveUp, send_due
from services import partnership as partnership_service
from services.clock import MovableClock
from services.dates import format_when
from services.errors import UserError
from services.text import unescape
from storage.models import Delivery, Group, Partnership, Person

CONSOLE_HELP = """Type a slash command as in Slack, e.g. `/meeting next`, `/action list`, `/apologies Off sick`.
  as PERSON            act as another person (their id, e.g. `as fire`)
  in GROUP             type as if in a group's channel (`in board`); `in` alone leaves it
  clock                show the clock; `clock 21/04/2015 16:00`, `clock +2d`, `clock +3h` move it
  people               who you can be
  quit                 leave"""

_BOLD = re.compile(r"\*(\S(?:[^*\n]*\S)?)\*")
_SHIFT = re.compile(r"^\+(\d{1,4})\s*([dhwm])$")
_UNITS = {"d": "days", "h": "hours", "w": "weeks", "m": "minutes"}


def plain(text: str) -> str:
    """Slack mrkdwn made readable in a terminal."""
    return unescape(_BOLD.sub(r"\1", text))


class ConsolePrinter:
    """Delivers the outbox to the terminal instead of Slack."""

    def __init__(self, out: TextIO, channel_names: dict[str, str], people: dict[str, str]) -> None:
        self._out, self._channels, self._people = out, channel_names, people

    def send(self, delivery: Delivery) -> None:
        if delivery.kind == "channel":
            where = f"#{self._channels.get(delivery.target, delivery.target)}"
        elif delivery.kind == "direct":
            where = f"direct message to {self._people.get(delivery.target, delivery.target)}"
        elif delivery.kind == "email":  # one line each: a meeting's invitations go to every member
            self._out.write(f"  ▸ e-mail to {delivery.target}: {delivery.payload.get('subject', '')}\n")
            return
        else:
            raise GiveUp(f"the console does not send {delivery.kind}")
        body = plain(delivery.payload["text"]).replace("\n", "\n    ")
        self._out.write(f"  ▸ {where}\n    {body}\n")


class Console:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: MovableClock,
        person_key: str | None,
        out: TextIO = sys.stdout,
        site: Site | None = None,
    ) -> None:
        self.sessions, self.clock, self.out = sessions, clock, out
        self.site = site or Site()
        self.person_key = person_key
        self.channel: str | None = None
        self.channel_label: str | None = None

    # -- the loop ---------------------------------------------------------------

    def loop(self, lines: TextIO = sys.stdin) -> None:
        self.say(f"partnerbot console. {self._whoami()}. Clock: {self._now_text()}. Type `help`.")
        interactive = lines.isatty()
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
        self.say(plain(reply.text))
        self.deliver()

    def deliver(self) -> None:
        """Print what the outbox holds that is due, as Slack would show it."""
        with self.sessions() as session:
            channels = {g.channel: g.slug for g in session.scalars(select(Group)) if g.channel}
            partnership = session.scalar(select(Partnership))
            if partnership and partnership.channel:
                channels[partnership.channel] = "partnership"
            people = {p.slack_user_id: p.name for p in session.scalars(select(Person)) if p.slack_user_id}
        send_due(self.sessions, self.clock, ConsolePrinter(self.out, channels, people))

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
            self.deliver()
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
            self.say("\n".join(f"{p.key:<14} {p.name} — {p.title or ''}" for p in people))

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
