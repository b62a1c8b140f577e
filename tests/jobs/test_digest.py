"""The weekly digest: what it holds, how it reads, its size limits, and its
bounded set of queries."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.jobs import digest as digest_job
from services import digest as digest_service
from services import partnership as partnership_service
from storage.models import Action, AgendaItem, Apology, Group, Meeting, Person, Update, Workstream
from tests.statements import counting

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2015, 4, 20, 9, 0, tzinfo=LONDON)


def build(db, now: datetime = MONDAY):
    with db() as session:
        partnership = partnership_service.get(session)
        return digest_job.render(digest_job.build_now(session, partnership, now))


def shown(message) -> str:
    """The whole digest as people read it: the headline, then each section."""
    return "\n\n".join([message.text, *(section.text for section in message.sections)])


def grow(db, factor: int) -> None:
    """A busier partnership: `factor` times the demo's actions, updates, apologies
    and meetings, spread around the digest's week."""
    with db() as session, session.begin():
        people = list(session.scalars(select(Person).order_by(Person.id)))
        workstreams = list(session.scalars(select(Workstream).order_by(Workstream.id)))
        board = session.scalar(select(Group).where(Group.slug == "board"))
        number = max(session.scalars(select(Action.number))) + 1
        start = MONDAY - timedelta(days=30)
        for n in range(16 * factor):
            owner = people[n % len(people)]
            status = ("open", "open", "done")[n % 3]
            session.add(
                Action(
                    number=number + n,
                    what=f"Action number {n} for the board",
                    owner_id=owner.id,
                    due=MONDAY.date() + timedelta(days=n % 21 - 10),
                    status=status,
                    done_at=MONDAY - timedelta(days=n % 6) if status == "done" else None,
                    created_at=start,
                    updated_at=start,
                )
            )
            session.add(
                Update(
                    workstream_id=workstreams[n % len(workstreams)].id,
                    author_id=owner.id,
                    rag=("green", "amber", "red")[n % 3],
                    progress=f"Progress report {n}",
                    created_at=MONDAY - timedelta(hours=n % 150 + 1),
                )
            )
        for n in range(6 * factor):
            starts = MONDAY + timedelta(days=n % 13 + 1, minutes=n)
            meeting = Meeting(
                group_id=board.id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                status="scheduled",
                uid=f"grown-{n}@partnerbot",
                sequence=0,
                created_at=start,
                updated_at=start,
            )
            session.add(meeting)
            session.flush()
            for person in people[: factor % len(people) + 1]:
                session.add(
                    Apology(
                        meeting_id=meeting.id,
                        person_id=person.id,
                        reason="A private reason",
                        created_at=start,
                        updated_at=start,
                    )
                )


def test_the_digest_is_built_in_a_bounded_number_of_statements(engine, demo):
    with counting(engine) as small:
        small_digest = build(demo)
    grow(demo, 10)
    with counting(engine) as large:
        large_digest = build(demo)
    assert len(shown(large_digest)) > len(shown(small_digest))  # the data did grow
    assert len(small) == len(large) <= 20


def add_update(session, **said) -> None:
    """Ray Cottam's update of Joint Commissioning, two days before the digest."""
    fire = session.scalar(select(Person).where(Person.key == "fire"))
    joint = session.scalar(select(Workstream).where(Workstream.slug == "joint-commissioning"))
    session.add(
        Update(workstream_id=joint.id, author_id=fire.id, created_at=MONDAY - timedelta(days=2), **said)
    )


def test_the_digest_reads_at_a_glance(demo):
    with demo() as session, session.begin():
        add_update(session, rag="red", progress="Pooled budget withdrawn")
        fire = session.scalar(select(Person).where(Person.key == "fire"))
        board = session.scalar(
            select(Meeting).where(Meeting.starts_at == datetime(2015, 4, 21, 16, tzinfo=LONDON))
        )
        session.add(
            Apology(
                meeting_id=board.id,
                person_id=fire.id,
                reason="Sick child",
                created_at=MONDAY,
                updated_at=MONDAY,
            )
        )
        session.add(
            AgendaItem(
                meeting_id=board.id, position=1, title="Sale of the depot", restricted=True, created_at=MONDAY
            )
        )
        action = session.scalar(select(Action).where(Action.number == 11))
        action.status, action.done_at = "done", MONDAY - timedelta(days=1)
    message = build(demo)
    text = shown(message)
    assert text.startswith("*Weekly digest*, Mon 20 Apr 2015")
    assert (
        "• *Chorley Public Service Reform Board*: Tue 21 Apr 2015, 16:00, Committee Room 1. "
        "Items closed Sat 11 Apr 2015; *agenda not out* (due Thu 16 Apr 2015); 1 apology." in text
    )
    week_before = shown(build(demo, MONDAY - timedelta(days=7)))  # Mon 13 Apr: the agenda's deadline ahead
    assert "Items closed Sat 11 Apr 2015; agenda out by Thu 16 Apr 2015; 1 apology." in week_before
    earlier = shown(build(demo, MONDAY - timedelta(days=10)))  # Fri 10 Apr: both deadlines ahead
    assert "Items by Sat 11 Apr 2015; agenda out by Thu 16 Apr 2015" in earlier
    assert (
        "*Due in the next 7 days*\n• *A9* Present NEET figures for 16-18 year olds to the Board "
        "(Andrew Sumner, due Tue 21 Apr 2015)" in text
    )
    assert (
        "*Overdue (8)*\n• *Jess Marland*: A3 Circulate revised terms of reference for comment "
        "(due Fri 30 Jan 2015); A1 Circulate Away Day outcomes (due Tue 17 Feb 2015)" in text
    )
    # A4 was marked done as the file was loaded, at the very time of the digest
    # before: that one listed it, so this one does not.
    assert (
        "*Done since Mon 13 Apr 2015*\n• *A11* Send station and estates data for the asset register (Ray Cottam)\n"
        in text
    )
    assert "*A4*" not in text and "*A4*" in shown(build(demo, MONDAY - timedelta(days=7)))
    assert (
        "*Workstream updates since Mon 13 Apr 2015*\n• *Joint Commissioning* 🔴 Red (Ray Cottam): Pooled budget withdrawn"
        in text
    )
    assert "*No update for 28 days*\n• *Integrated Assets*: never updated" in text
    assert "Joint Commissioning*: never" not in text
    assert "Sick child" not in text and "Sale of the depot" not in text
    assert "Attendance" not in text  # an empty section is left out
    assert [s.text.split("\n")[0] for s in message.sections] == [
        "*Meetings in the next 14 days*",
        "*Due in the next 7 days*",
        "*Overdue (8)*",
        "*Done since Mon 13 Apr 2015*",
        "*Workstream updates since Mon 13 Apr 2015*",
        "*No update for 28 days*",
    ]


def test_an_update_that_needs_a_decision_says_so_first_however_long_its_progress(demo):
    with demo() as session, session.begin():
        add_update(
            session,
            rag="amber",
            progress="Providers met twice; " * 20,
            decision_needed="Approve the pooled budget of £200k",
        )
    [line] = [line for line in shown(build(demo)).split("\n") if "Joint Commissioning" in line]
    assert line.startswith(
        "• *Joint Commissioning* 🟠 Amber (Ray Cottam), *decision needed*: "
        "Approve the pooled budget of £200k. Providers met twice;"
    )
    assert len(line) <= 200


def test_a_meeting_s_line_shortens_its_place_and_keeps_its_deadlines(demo):
    executive = shown(build(demo, datetime(2015, 3, 30, 9, tzinfo=LONDON)))
    assert (
        "• *Chorley Public Service Reform Executive*: Thu 2 Apr 2015, 10:00, Chief Executive's Meeting Room. "
        "Items closed Mon 23 Mar 2015; *agenda not out* (due Sat 28 Mar 2015); no apologies."
    ) in executive
    assert (
        "• *Implementation Group*: Wed 8 Apr 2015, 14:00, Lancastrian Room, Chorley Town Hall. " in executive
    )
    # 8 Jul is online: a link that fits is shown whole; one too long is "online", never cut.
    link = "https://meet.example.org/cpsig-2015-07"
    online = shown(build(demo, datetime(2015, 6, 29, 9, tzinfo=LONDON)))
    assert f"• *Implementation Group*: Wed 8 Jul 2015, 14:00, {link}. Items by" in online
    with demo() as session, session.begin():
        session.execute(update(Meeting).where(Meeting.url == link).values(url=link + "?pwd=" + "x" * 40))
    online = shown(build(demo, datetime(2015, 6, 29, 9, tzinfo=LONDON)))
    assert "• *Implementation Group*: Wed 8 Jul 2015, 14:00, online. Items by" in online


def test_a_digest_at_any_size_stays_within_slacks_limits(demo):
    grow(demo, 60)
    message = build(demo)
    assert message.text == "*Weekly digest*, Mon 20 Apr 2015"  # the notification: the sections follow it
    assert len(shown(message)) <= 40_000
    assert len(message.sections) + 1 <= 50
    assert all(len(section.text) <= 3000 for section in message.sections)
    assert all(len(line) <= 200 for section in message.sections for line in section.text.split("\n"))
    assert "…and " in message.sections[0].text and " more" in message.sections[0].text


def test_an_owner_s_overdue_actions_say_what_they_are_as_many_as_fit_their_line(demo):
    with demo() as session, session.begin():
        fire = session.scalar(select(Person).where(Person.key == "fire"))
        number = max(session.scalars(select(Action.number))) + 1
        for n in range(7):
            due = date(2015, 3, 1) + timedelta(days=n)
            session.add(
                Action(
                    number=number + n,
                    what=f"Chase the estates survey for depot {n} " + "and its outbuildings " * 5,
                    owner_id=fire.id,
                    due=due,
                    status="open",
                    created_at=MONDAY - timedelta(days=60),
                    updated_at=MONDAY - timedelta(days=60),
                )
            )
    overdue = next(s.text for s in build(demo).sections if s.text.startswith("*Overdue ("))
    [line] = [line for line in overdue.split("\n") if line.startswith("• *Ray Cottam*")]
    # The oldest first, what each is clipped, as many as fit: the rest counted.
    assert line == (
        f"• *Ray Cottam*: A{number} Chase the estates survey for depot 0 and its outbuildings a… "
        f"(due Sun 1 Mar 2015); A{number + 1} Chase the estates survey for depot 1 and its outbuildings a… "
        "(due Mon 2 Mar 2015); and 6 more"
    )
    assert "A11 " not in line  # the demo's own, due on 20 Mar, among the 6 more


def test_overdue_actions_of_someone_who_has_left_say_so(demo):
    with demo() as session, session.begin():  # as a partnership file without them leaves them
        session.execute(update(Person).where(Person.key == "fire").values(left_at=MONDAY))
    overdue = next(s.text for s in build(demo).sections if s.text.startswith("*Overdue ("))
    assert "\n• *Ray Cottam (has left)*: A11 Send station and estates data" in overdue


def test_a_quiet_week_says_so(demo):
    with demo() as session, session.begin():
        for action in session.scalars(select(Action)):
            action.status = "dropped"
        for workstream in session.scalars(select(Workstream)):
            workstream.is_open = False
    message = build(demo, datetime(2015, 7, 20, 9, tzinfo=LONDON))
    assert shown(message) == (
        "*Weekly digest*, Mon 20 Jul 2015\n\nNothing to report this week: no meetings, due or overdue actions, or updates."
    )


def test_the_digest_time_follows_the_partnership_file(demo):
    with demo() as session:
        partnership = partnership_service.get(session)
        assert digest_service.digest_time(partnership, MONDAY) == MONDAY
        assert digest_service.digest_time(partnership, MONDAY - timedelta(minutes=1)) == MONDAY - timedelta(
            days=7
        )
        assert digest_service.last_digest_before(partnership, MONDAY) == MONDAY - timedelta(days=7)
        assert digest_service.digest_time(
            partnership, datetime(2015, 3, 30, 9, tzinfo=LONDON)
        ).date() == date(2015, 3, 30)


def test_the_digest_flags_a_member_who_missed_two_meetings_in_a_row(demo):
    from storage.models import Attendance, Membership

    with demo() as session, session.begin():
        held = list(
            session.scalars(
                select(Meeting)
                .where(Meeting.starts_at < MONDAY)
                .order_by(Meeting.group_id, Meeting.starts_at)
            )
        )
        by_group: dict[int, list[Meeting]] = {}
        for meeting in held:
            by_group.setdefault(meeting.group_id, []).append(meeting)
        group_id, meetings = next((g, ms) for g, ms in by_group.items() if len(ms) >= 2)
        member = session.scalar(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.group_id == group_id, Membership.role == "member")
            .order_by(Person.id)
        )
        for meeting, status in zip(meetings[-2:], ("apologies", "absent"), strict=True):
            meeting.status = "held"
            session.add(
                Attendance(meeting_id=meeting.id, person_id=member.id, status=status, recorded_at=MONDAY)
            )
        name = member.name
    text = "\n".join(section.text for section in build(demo).sections)
    assert "*Attendance*" in text
    assert (
        f"• *{name}* (" in text
        and "2 meetings missed in a row (apologies, absent): an explanation may be asked" in text
    )


def test_the_posted_digest_shows_each_section_once_under_its_headline(demo, runner):
    runner.run(MONDAY.date())
    [post] = [p for p in runner.slack_api.posts() if p["channel"] == "CPARTNER1"]
    assert post["text"] == "*Weekly digest*, Mon 20 Apr 2015"  # what the notification says
    texts = [block["text"]["text"] for block in post["blocks"]]
    assert texts[0] == post["text"]
    assert [text.split("\n")[0] for text in texts[1:]] == [
        section.text.split("\n")[0] for section in build(demo).sections
    ]
    assert sum(text.count("*Overdue (") for text in texts) == 1


def test_a_digest_posted_on_its_day_is_that_day_s_one_digest(demo, runner, type_command, clock):
    clock.set(MONDAY.replace(hour=8))  # an hour early
    early = type_command("/digest post", person="clerk")
    assert early.ok and early.text.startswith("Posted this week's digest to the partnership channel")
    runner.run(MONDAY.date())  # the scheduled 09:00 finds it sent
    assert [a.at.hour for a in runner.to("CPARTNER1")] == [9]  # the one post, sent by that run
    clock.set(MONDAY.replace(hour=11))
    again = type_command("/digest post", person="policy")
    assert not again.ok and again.text == (
        "Today's digest went to the partnership channel at 08:00: it is posted once. "
        "`/digest` shows it to you as it stands now. Nothing was changed."
    )
    # Another day's is one of its own, and the next digest day has its own again.
    clock.set(MONDAY.replace(day=22, hour=10))
    assert type_command("/digest post", person="policy").ok
    runner.run(date(2015, 4, 22), time(10, 1))
    runner.run(date(2015, 4, 27))
    assert [a.day for a in runner.to("CPARTNER1")] == [
        date(2015, 4, 20),
        date(2015, 4, 22),
        date(2015, 4, 27),
    ]
