"""A county-scale partnership, written straight into the database (SPEC section 9).

At scale 1: 6 groups meeting to their real rhythm for 10 years (the board 5 times a
year, the executive and the implementation group monthly, three task-and-finish
groups every one to three months; online from the 2020 lockdown on), 300 people
across a dozen organisations, 40 workstreams, 50,000 actions, 10,000 workstream
updates and 20,000 apologies and attendance rows. `scale` multiplies the people,
the groups' sizes, the workstreams and every row count; the meetings keep their
10-year rhythm. A fixed seed makes the same partnership every time.

    python -m bench.data DATABASE_URL [--scale N] [--now 2020-03-02T09:00]

or, from another benchmark, `generate(engine, scale=1, now=...)` on an empty
database migrated with `storage.migrate.upgrade`. Rows go in with SQLAlchemy Core
bulk inserts and ids chosen here, in one transaction.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time as timer
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select, text

from bench import wording
from bench.rhythm import GROUPS, Rhythm
from services.clock import SystemClock
from storage.models import Base

SEED = 2015
ZONE = ZoneInfo("Europe/London")
YEARS_BEFORE, YEARS_AHEAD = 9, 1  # ten years of meetings, dates agreed a year ahead
ONLINE_FROM = datetime(2020, 3, 23, tzinfo=ZONE)  # the first lockdown: meetings went virtual

PEOPLE, WORKSTREAMS, ACTIONS, UPDATES, APOLOGIES_AND_ATTENDANCE = 300, 40, 50_000, 10_000, 20_000
ATTENDANCE_SHARE = 0.8  # of APOLOGIES_AND_ATTENDANCE; apologies make up the rest exactly
OVERDUE_SHARE = 0.05  # of actions already due: still open
BATCH = 5000  # rows per INSERT

Row = dict[str, Any]


@dataclass(frozen=True)
class Generated:
    """What was written, and who to act as: `clerk` is an officer of every group,
    `chair` the board's chair, `member` one of its members."""

    counts: dict[str, int]
    clerk: str
    clerk_slack: str
    chair: str
    member: str
    board_channel: str
    now: datetime
    seconds: float


def generate(engine: Engine, *, scale: float = 1, now: datetime | None = None, seed: int = SEED) -> Generated:
    """Fill an empty, migrated database with a county-scale partnership."""
    if scale <= 0:
        raise ValueError("scale must be above 0")
    now = (now or SystemClock().now()).astimezone(UTC)
    started = timer.perf_counter()
    with engine.begin() as connection:
        if connection.scalar(select(func.count()).select_from(_table("partnership"))):
            raise ValueError("this database already holds a partnership: generate into an empty one")
        partnership = _Partnership(random.Random(seed), scale=scale, now=now)
        counts: dict[str, int] = {}
        for name, rows in partnership.tables():
            counts[name] = 0
            for batch in _batches(rows, BATCH):
                connection.execute(_table(name).insert(), batch)
                counts[name] += len(batch)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, counts)
    return Generated(
        counts=counts,
        clerk=partnership.clerk["key"],
        clerk_slack=partnership.clerk["slack_user_id"],
        chair=partnership.board_chair["key"],
        member=partnership.board_member["key"],
        board_channel=_channel(1),
        now=now,
        seconds=timer.perf_counter() - started,
    )


def _table(name: str):
    return Base.metadata.tables[name]


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _channel(group_id: int) -> str:
    return f"CBENCH{group_id:04d}"


def _reset_sequences(connection: Connection, counts: dict[str, int]) -> None:
    """Ids were chosen here, 1 up: PostgreSQL's sequences go on from the highest."""
    parts = [
        f"setval(pg_get_serial_sequence('\"{name}\"', 'id'), {count + 1}, false)"
        for name, count in counts.items()
    ]
    connection.execute(text("SELECT " + ", ".join(parts)))


def scaled(count: int, scale: float, least: int = 1) -> int:
    return max(least, round(count * scale))


class _Partnership:
    """The rows of one generated partnership, table by table, in insert order."""

    def __init__(self, rng: random.Random, *, scale: float, now: datetime) -> None:
        self.rng, self.scale, self.now = rng, scale, now
        self.today = now.astimezone(ZONE).date()
        self.first = self.today.replace(year=self.today.year - YEARS_BEFORE, day=1)
        self.last = self.today.replace(year=self.today.year + YEARS_AHEAD, day=1)

    def tables(self) -> list[tuple[str, Iterable[Row]]]:
        """Each table's rows, in insert order; the big ones are made as they are
        inserted, batch by batch, so ten times the data takes no more memory."""
        organisations = [
            {"id": i, "key": key, "name": name} for i, (key, name) in enumerate(wording.ORGANISATIONS, 1)
        ]
        people = self.people(len(organisations))
        groups = [self.group(i, rhythm) for i, rhythm in enumerate(GROUPS, 1)]
        memberships = self.memberships(people)
        meetings = self.meetings()
        streams, stream_members = self.workstreams(people)
        return [
            ("partnership", [self.partnership()]),
            ("organisation", organisations),
            ("person", people),
            ("group", groups),
            ("membership", memberships),
            ("meeting", meetings),
            ("workstream", streams),
            ("workstream_member", stream_members),
            ("update", self.updates(stream_members)),
            ("action", self.actions(people, meetings, streams)),
            ("apology", self.apologies(meetings)),  # before attendance, which marks who sent them
            ("attendance", self.attendance()),
        ]

    def partnership(self) -> Row:
        return {
            "id": 1,
            "name": "County Public Service Reform Partnership",
            "timezone": ZONE.key,
            "channel": "CBENCH0000",
            "digest_day": 0,
            "digest_time": time(9, 0),
            "organiser_email": "partnership@example.org",
            "holidays": "england-and-wales",
        }

    def people(self, organisations: int) -> list[Row]:
        rng, people = self.rng, []
        for i in range(1, scaled(PEOPLE, self.scale, least=4 * len(GROUPS) + 16) + 1):
            first, last = rng.choice(wording.FIRST_NAMES), rng.choice(wording.LAST_NAMES)
            # The clerk and each group's chair and officers (picked from the first few) are on Slack.
            on_slack = i <= 4 * len(GROUPS) or rng.random() < 0.7
            people.append(
                {
                    "id": i,
                    "key": "clerk" if i == 1 else f"p{i:05d}",
                    "name": f"{first} {last}",
                    # Half work for the council or the county; the rest spread over the partners.
                    "organisation_id": rng.choice((1, 2))
                    if rng.random() < 0.5
                    else rng.randint(3, organisations),
                    "title": rng.choice(wording.TITLES),
                    "email": f"{first}.{last}.{i}@example.org".lower() if rng.random() < 0.85 else None,
                    "slack_user_id": f"UB{i:07d}" if on_slack else None,
                }
            )
        return people

    def group(self, i: int, rhythm: Rhythm) -> Row:
        return {
            "id": i,
            "slug": rhythm.slug,
            "name": rhythm.name,
            "abbreviation": rhythm.abbreviation,
            "channel": _channel(i),
            "location": f"{wording.ROOMS[i % len(wording.ROOMS)]}, County Hall, Preston, PR1 8XJ",
            "start_time": rhythm.start,
            "minutes": rhythm.minutes,
            "items_due_days": 10,
            "publish_days": 5,
            "explain_after": 2,
            "resign_after": 3,
        }

    def memberships(self, people: list[Row]) -> list[Row]:
        """Each group: the clerk as officer, a chair and two officers from the first
        people (all on Slack), then members and a few observers drawn at random."""
        rng, rows = self.rng, list[Row]()
        self.members: dict[int, list[int]] = {}
        self.clerk, self.board_chair, self.board_member = people[0], people[1], people[-1]
        for g, rhythm in enumerate(GROUPS, 1):
            leaders = [2 + (g - 1) * 3 + k for k in range(3)]  # chair, officer, officer
            others = [p["id"] for p in people[4 * len(GROUPS) :]]
            size = min(len(others), scaled(rhythm.size, self.scale, least=4))
            chosen = rng.sample(others, size)
            if g == 1 and self.board_member["id"] not in chosen:
                chosen[0] = self.board_member["id"]
            roles = [(1, "officer"), (leaders[0], "chair"), (leaders[1], "officer"), (leaders[2], "officer")]
            roles += [(pid, "observer" if rng.random() < 0.1 else "member") for pid in chosen]
            if g == 1:
                roles = [(pid, "member" if pid == self.board_member["id"] else role) for pid, role in roles]
            for person_id, role in roles:
                rows.append({"id": len(rows) + 1, "group_id": g, "person_id": person_id, "role": role})
            self.members[g] = [pid for pid, _ in roles]
        return rows

    def meetings(self) -> list[Row]:
        rows: list[Row] = []
        for g, rhythm in enumerate(GROUPS, 1):
            for day in rhythm.days(self.first, self.last):
                local = datetime.combine(day, rhythm.start, tzinfo=ZONE)
                starts = local.astimezone(UTC)
                past = starts < self.now
                online = local >= ONLINE_FROM
                created = starts - timedelta(days=365)
                rows.append(
                    {
                        "id": len(rows) + 1,
                        "group_id": g,
                        "starts_at": starts,
                        "ends_at": starts + timedelta(minutes=rhythm.minutes),
                        "location": None
                        if online
                        else f"{wording.ROOMS[g % len(wording.ROOMS)]}, County Hall",
                        "url": f"https://meet.example.org/{rhythm.slug}" if online else None,
                        "status": ("cancelled" if self.rng.random() < 0.03 else "held")
                        if past
                        else "scheduled",
                        "uid": f"bench-{rhythm.slug}-{day:%Y%m%d}@partnerbot.example.org",
                        "sequence": 0,
                        "agenda_published_at": starts - timedelta(days=5) if past else None,
                        "created_at": min(created, self.now),
                        "updated_at": min(created, self.now),
                    }
                )
        return rows

    def workstreams(self, people: list[Row]) -> tuple[list[Row], list[Row]]:
        rng, streams, members = self.rng, list[Row](), list[Row]()
        for i in range(1, scaled(WORKSTREAMS, self.scale, least=4) + 1):
            theme, name = wording.THEMES[(i - 1) % len(wording.THEMES)]
            round_ = (i - 1) // len(wording.THEMES)
            group_id = rng.randint(1, len(GROUPS))
            streams.append(
                {
                    "id": i,
                    "slug": theme if round_ == 0 else f"{theme}-{round_ + 1}",
                    "name": name if round_ == 0 else f"{name} ({round_ + 1})",
                    "description": f"{name}: {rng.choice(wording.AIMS)}",
                    "group_id": group_id,
                    "is_open": rng.random() < 0.85,
                }
            )
            pool = self.members[group_id]
            chosen = rng.sample(pool, min(len(pool), rng.randint(3, 8)))
            for k, person_id in enumerate(chosen):
                role = "lead" if k < (1 if rng.random() < 0.7 else 2) else "contributor"
                members.append(
                    {"id": len(members) + 1, "workstream_id": i, "person_id": person_id, "role": role}
                )
        return streams, members

    def updates(self, workstream_members: list[Row]) -> Iterator[Row]:
        rng = self.rng
        authors = [(m["workstream_id"], m["person_id"]) for m in workstream_members]
        span = (self.now - _start_of(self.first)).total_seconds()
        for i in range(1, scaled(UPDATES, self.scale) + 1):
            workstream_id, author_id = rng.choice(authors)
            yield (
                {
                    "id": i,
                    "workstream_id": workstream_id,
                    "author_id": author_id,
                    "rag": rng.choices(("green", "amber", "red"), weights=(55, 35, 10))[0],
                    "progress": rng.choice(wording.PROGRESS),
                    "issues": rng.choice(wording.ISSUES) if rng.random() < 0.4 else None,
                    "risks": rng.choice(wording.RISKS) if rng.random() < 0.3 else None,
                    "next_steps": rng.choice(wording.NEXT_STEPS),
                    "decision_needed": rng.choice(wording.DECISIONS) if rng.random() < 0.1 else None,
                    "created_at": self.now - timedelta(seconds=rng.uniform(0, span)),
                }
            )

    def actions(self, people: list[Row], meetings: list[Row], streams: list[Row]) -> Iterator[Row]:
        """Actions from the meetings' What / Who / When tables (and a few added
        between meetings): nearly all done once due, a few dropped, some overdue."""
        rng = self.rng
        held = [m for m in meetings if m["status"] == "held"]
        span = (self.now - _start_of(self.first)).total_seconds()
        for number in range(1, scaled(ACTIONS, self.scale) + 1):
            meeting = rng.choice(held) if held and rng.random() < 0.7 else None
            if meeting is not None:
                created = min(meeting["starts_at"] + timedelta(hours=rng.uniform(2, 72)), self.now)
                creator = rng.choice(self.members[meeting["group_id"]][:4])
            else:
                created = self.now - timedelta(seconds=rng.uniform(0, span))
                creator = self.clerk["id"]
            due = created.astimezone(ZONE).date() + timedelta(days=rng.randint(7, 120))
            if due < self.today:
                status = rng.choices(
                    ("done", "dropped", "open"), weights=(0.92 - OVERDUE_SHARE, 0.08, OVERDUE_SHARE)
                )[0]
            else:
                status = "done" if rng.random() < 0.12 else "open"
            done_at = None
            if status == "done":
                latest = min(_start_of(due + timedelta(days=14)), self.now)
                done_at = created + (latest - created) * rng.random()
            person = rng.choice(people) if rng.random() < 0.85 else None
            yield (
                {
                    "id": number,
                    "number": number,
                    "what": wording.action_what(rng),
                    "owner_id": person["id"] if person else None,
                    "owner_text": None if person else rng.choice(wording.FREE_TEXT_OWNERS),
                    "due": due,
                    "status": status,
                    "meeting_id": meeting["id"] if meeting else None,
                    "workstream_id": rng.choice(streams)["id"] if rng.random() < 0.35 else None,
                    "created_by_id": creator,
                    "created_at": created,
                    "updated_at": done_at or created,
                    "done_at": done_at,
                }
            )

    def apologies(self, meetings: list[Row]) -> Iterator[Row]:
        """Attendance is recorded for the most recent held meetings, up to its share
        of the rows; apologies, sent for past and coming meetings alike, make up the rest."""
        rng = self.rng
        total = scaled(APOLOGIES_AND_ATTENDANCE, self.scale)
        budget = round(total * ATTENDANCE_SHARE)
        self.recorded: list[Row] = []
        for meeting in sorted(meetings, key=lambda m: m["starts_at"], reverse=True):
            group_members = self.members[meeting["group_id"]]
            if meeting["status"] != "held" or len(group_members) > budget:
                continue
            budget -= len(group_members)
            self.recorded.append(meeting)
        pairs = [
            (m, pid) for m in meetings if m["status"] != "cancelled" for pid in self.members[m["group_id"]]
        ]
        want = total - sum(len(self.members[m["group_id"]]) for m in self.recorded)
        self.sent_for: set[tuple[int, int]] = set()
        for i, (meeting, person_id) in enumerate(rng.sample(pairs, min(len(pairs), want)), 1):
            created = min(meeting["starts_at"] - timedelta(days=rng.uniform(0.2, 20)), self.now)
            withdrawn = rng.random() < 0.05
            if not withdrawn:
                self.sent_for.add((meeting["id"], person_id))
            yield {
                "id": i,
                "meeting_id": meeting["id"],
                "person_id": person_id,
                "reason": rng.choice(wording.REASONS),
                "substitute": rng.choice(wording.SUBSTITUTES) if rng.random() < 0.2 else None,
                "created_at": created,
                "updated_at": created,
                "withdrawn_at": min(created + timedelta(hours=20), self.now) if withdrawn else None,
            }

    def attendance(self) -> Iterator[Row]:
        """Who was present at the recorded meetings: after `apologies`, which it reads."""
        rng, number = self.rng, 0
        for meeting in self.recorded:
            for person_id in self.members[meeting["group_id"]]:
                if (meeting["id"], person_id) in self.sent_for:
                    status = "apologies"
                else:
                    status = "present" if rng.random() < 0.85 else rng.choice(("absent", "in_attendance"))
                number += 1
                yield {
                    "id": number,
                    "meeting_id": meeting["id"],
                    "person_id": person_id,
                    "status": status,
                    "recorded_at": meeting["ends_at"],
                }


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)


def main(argv: list[str] | None = None) -> None:
    from storage import migrate
    from storage.session import make_engine

    parser = argparse.ArgumentParser(prog="python -m bench.data", description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--scale", type=float, default=1.0, help="1 for county scale, 10 for ten times it")
    parser.add_argument("--now", help="local time in Europe/London, e.g. 2020-03-02T09:00 (default: now)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now).replace(tzinfo=ZONE) if args.now else None
    engine = make_engine(args.database_url)
    migrate.upgrade(engine)
    try:
        made = generate(engine, scale=args.scale, now=now, seed=args.seed)
    except ValueError as error:
        raise SystemExit(f"bench.data: {error}") from None
    finally:
        engine.dispose()
    for name, count in made.counts.items():
        print(f"{name:20} {count:>9,}")
    print(f"{'seconds':20} {made.seconds:>9.2f}")
    print(
        f"act as: {made.clerk} (officer of every group, Slack {made.clerk_slack}), board chair {made.chair}"
    )


if __name__ == "__main__":
    main()
