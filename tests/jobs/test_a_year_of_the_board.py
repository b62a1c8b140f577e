"""A year of the demo board, run day by day through run_due at 09:00 Chorley time
(and at other hours, which must send nothing): every kind of scheduled message
arrives on its day, at 09:00 local, across both clock changes and the Easter and
Christmas bank holidays, exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time

from sqlalchemy import select

from services import actions as actions_service
from storage.models import AgendaItem, Apology, Meeting, Person, Update, Workstream
from tests.jobs.conftest import LONDON, add_action, each_day, sent_keys

START, END = date(2015, 1, 1), date(2016, 1, 7)
SPRING_FORWARD, FALL_BACK = date(2015, 3, 29), date(2015, 10, 25)
REASONS = ("Hospital appointment for my mother", "Giving evidence at Preston Crown Court")


def d(day: int, month: int, year: int = 2015) -> date:
    return date(year, month, day)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON)


def _stage_the_year(db, clock) -> dict[str, str]:
    """What the board does besides the partnership file: apologies (with private
    reasons), a restricted agenda item, workstream updates, and two actions due
    over Christmas."""
    with db() as session, session.begin():
        people = {p.key: p for p in session.scalars(select(Person))}
        meetings = {
            (m.group.slug, m.starts_at.astimezone(LONDON).date()): m for m in session.scalars(select(Meeting))
        }
        workstreams = {w.slug: w for w in session.scalars(select(Workstream))}
        april_board = meetings[("board", d(21, 4))]
        for person, reason in zip(("fire", "police"), REASONS, strict=True):
            session.add(
                Apology(
                    meeting_id=april_board.id,
                    person_id=people[person].id,
                    reason=reason,
                    created_at=at(d(1, 4)),
                    updated_at=at(d(1, 4)),
                )
            )
        session.add(
            AgendaItem(
                meeting_id=april_board.id,
                position=1,
                title="Disposal of the Union Street depot",
                restricted=True,
                restricted_paragraph=3,
                created_at=at(d(1, 4)),
            )
        )
        session.add_all(
            [
                Update(
                    workstream_id=workstreams["joint-commissioning"].id,
                    author_id=people["fire"].id,
                    rag="amber",
                    progress="Pooled budget delayed to Q3",
                    created_at=at(d(14, 4), 11),
                ),
                Update(
                    workstream_id=workstreams["intelligence-sharing"].id,
                    author_id=people["intel"].id,
                    rag="green",
                    progress="Protocol signed by four partners",
                    created_at=at(d(16, 4), 15),
                ),
            ]
        )
    now = clock.now()
    return {
        "christmas eve": add_action(
            db, what="Send the winter pressures plan", owner="fire", due=d(24, 12), now=now
        ),
        "after christmas": add_action(
            db, what="Confirm January rota", owner="police", due=d(29, 12), now=now
        ),
    }


def _on_the_day(db, day: date) -> None:
    """What people do during the year: actions done, an agenda published on time,
    and at midsummer the clerk closes the old actions (which otherwise are chased
    every week for the rest of the year)."""
    with db() as session, session.begin():
        if day == d(24, 6):
            clerk = session.scalar(select(Person).where(Person.key == "clerk"))
            for listed in actions_service.listing(session, limit=1000).actions:
                if listed.due is not None and listed.due < day:
                    action = actions_service.get(session, listed.ref)
                    actions_service.mark_done(session, now=at(day, 12), actor=clerk, action=action)
        if day == d(14, 4):
            for ref, owner in (("A11", "fire"), ("A12", "dwp")):
                action = actions_service.get(session, ref)
                person = session.scalar(select(Person).where(Person.key == owner))
                actions_service.mark_done(session, now=at(day, 12), actor=person, action=action)
        if day == d(21, 4):
            clerk = session.scalar(select(Person).where(Person.key == "clerk"))
            actions_service.mark_done(
                session, now=at(day, 12), actor=clerk, action=actions_service.get(session, "A2")
            )
        if day == d(15, 4):
            board = session.scalar(select(Meeting).where(Meeting.starts_at == at(d(21, 4), 16)))
            board.agenda_published_at = at(day, 12)


def _other_hours(day: date) -> list[time]:
    """Runs at other hours, around the clock changes and the bank holidays: they
    find nothing new (what is due at 09:00 local is not due at 08:59)."""
    near_a_change = any(0 <= (day - change).days <= 2 for change in (SPRING_FORWARD, FALL_BACK))
    if near_a_change or day in (d(3, 4), d(6, 4), d(25, 12), d(28, 12)) or day.day == 1:
        return [time(8, 59), time(16, 30)]
    return []


def test_a_year_of_scheduled_messages_each_on_its_day_at_nine_exactly_once(demo, clock, runner):
    refs = _stage_the_year(demo, clock)
    for day in each_day(START, END):
        for hour in _other_hours(day):
            if hour < time(9, 0):
                assert runner.run(day, hour) == [], f"a run at {hour} on {day} sent something"
        runner.run(day)
        _on_the_day(demo, day)
        for hour in _other_hours(day):
            if hour > time(9, 0):
                assert runner.run(day, hour) == [], f"a run at {hour} on {day} sent something"

    arrivals = runner.arrivals
    assert arrivals and all(a.at.time() == time(9, 0) for a in arrivals)

    # Exactly once: every message sent once, nothing posted twice.
    keys = sent_keys(demo)
    assert len(keys) == len(set(keys)) == len(arrivals)
    assert not [k for k, n in Counter((a.day, a.channel, a.text) for a in arrivals).items() if n > 1]

    # An owner's action: due soon two days before, then nudged weekly on the next working day
    # after due + 1 + 7(n-1): Sat 21 Mar -> Mon 23, Sat 28 -> Mon 30 (across the clock change),
    # Sat 4 Apr -> Tue 7 Apr (Easter Monday), Sat 11 -> Mon 13; done on 14 Apr, so no more.
    assert runner.days("DU0FIRE001", "*A11*") == [d(18, 3), d(23, 3), d(30, 3), d(7, 4), d(13, 4)]
    assert runner.days("DU0FIRE001", "*A11*", "(3rd reminder)") == [d(7, 4)]
    # The third nudge escalates to the workstream's lead (Integrated Assets: Neil Crompton).
    assert runner.days("DU0ASSET01", "*A11*", "Escalated") == [d(7, 4)]
    assert runner.days("DU0DWP0001", "*A12*") == [d(25, 3), d(30, 3), d(7, 4), d(13, 4)]
    assert runner.days("DU0INTEL01", "*A12*", "Escalated") == [d(13, 4)]

    # A free-text owner's action ("Group Leads") goes to the officers, each their own message.
    for officer in ("DU0CLERK01", "DU0POLICY1", "DU0PROG001"):
        assert runner.days(officer, "*A2*", "owner: Group Leads") == [d(8, 4), d(13, 4), d(20, 4)]
    # Amira has no Slack id: her nudges go nowhere; only the escalation to her lead is sent.
    about_a13 = [a for a in arrivals if a.channel.startswith("D") and "*A13*" in a.text]
    assert [(a.channel, a.day) for a in about_a13] == [("DU0PUBH001", d(15, 5))]
    assert "Escalated" in about_a13[0].text

    # One message per person per run: the clerk's overdue actions on 13 Apr come together.
    clerks_13_april = [
        a for a in runner.to("DU0CLERK01") if a.day == d(13, 4) and "Actions to chase" in a.text
    ]
    assert len(clerks_13_april) == 1 and all(r in clerks_13_april[0].text for r in ("*A2*", "*A3*", "*A8*"))

    # The Implementation Group of Wed 8 Apr, around the spring clock change and Easter.
    april_ig = "Wed 8 Apr 2015"
    assert runner.days("CIMPL0001", "Call for agenda items", april_ig) == [d(27, 3)]  # Sat 28 -> Fri 27
    assert runner.days("CIMPL0001", "Agenda items close", april_ig) == [d(31, 3)]
    assert runner.days("DU0PROG001", "Publish the agenda", april_ig) == [d(2, 4)]
    for person in ("DU0PROG001", "DU0CLERK01", "DU0POLICY1"):  # officers and the chair, on Good Friday
        assert runner.days(person, "agenda is not published", april_ig) == [d(3, 4)]
    assert runner.days("CIMPL0001", "Meeting tomorrow", april_ig) == [d(7, 4)]

    # The Board of Tue 21 Apr: its agenda went out on time, so no "not published".
    april_board = "Tue 21 Apr 2015"
    assert runner.days("CBOARD001", "Call for agenda items", april_board) == [d(7, 4)]
    assert runner.days("CBOARD001", "Agenda items close", april_board) == [d(10, 4)]
    assert runner.days("DU0CLERK01", "Publish the agenda", april_board) == [d(15, 4)]
    assert runner.days("DU0CHAIR01", "agenda is not published", april_board) == []
    [tomorrow] = [a for a in runner.to("CBOARD001") if "Meeting tomorrow" in a.text and april_board in a.text]
    assert tomorrow.day == d(20, 4)
    assert "Apologies so far: 2 (Ray Cottam, Sarah Mellor)" in tomorrow.text
    assert "Committee Room 1" in tomorrow.text and "16:00" in tomorrow.text

    # The Executive of Thu 5 Nov, across the autumn clock change.
    november_exec = "Thu 5 Nov 2015"
    assert runner.days("CEXEC0001", "Call for agenda items", november_exec) == [d(22, 10)]
    assert runner.days("CEXEC0001", "Agenda items close", november_exec) == [d(23, 10)]  # Sun 25 -> Fri 23
    assert runner.days("DU0CLERK01", "Publish the agenda", november_exec) == [d(30, 10)]
    assert runner.days("DU0CEXEC01", "agenda is not published", november_exec) == [d(31, 10)]  # a Saturday
    assert runner.days("CEXEC0001", "Meeting tomorrow", november_exec) == [d(4, 11)]

    # Christmas and New Year: the agenda reminders move back, the nudges forward.
    january_exec = "Thu 7 Jan 2016"
    # Both fall on Thu 24 Dec (Mon 28 is a holiday): the one that says when items close is sent.
    assert runner.days("CEXEC0001", "Call for agenda items", january_exec) == []
    assert runner.days("CEXEC0001", "Agenda items close", january_exec) == [d(24, 12)]
    assert runner.days("DU0CLERK01", "Publish the agenda", january_exec) == [d(31, 12)]
    assert runner.days("DU0CEXEC01", "agenda is not published", january_exec) == [d(2, 1, 2016)]
    assert runner.days("CIMPL0001", "Call for agenda items", "Wed 13 Jan 2016") == [d(31, 12)]
    christmas_eve, after_christmas = f"*{refs['christmas eve']}*", f"*{refs['after christmas']}*"
    # Due Thu 24 Dec: nudges on Fri 25 Dec -> Tue 29 Dec, then Fri 1 Jan -> Mon 4 Jan.
    assert runner.days("DU0FIRE001", christmas_eve) == [d(22, 12), d(29, 12), d(4, 1, 2016)]
    # Due Tue 29 Dec: "due soon" on Sun 27 -> Thu 24 Dec; nudges Wed 30 Dec, Wed 6 Jan.
    assert runner.days("DU0POLICE1", after_christmas) == [d(24, 12), d(30, 12), d(6, 1, 2016)]

    # The weekly digest: every Monday at 09:00, bank holiday or not.
    digests = runner.days("CPARTNER1", "*Weekly digest*")
    assert digests == [day for day in each_day(START, END) if day.weekday() == 0]
    [digest_20_april] = [a for a in runner.to("CPARTNER1") if a.day == d(20, 4)]
    assert "• *Joint Commissioning* 🟠 Amber (Ray Cottam): Pooled budget delayed" in (digest_20_april.text)
    assert "• *Intelligence Sharing* 🟢 Green" in digest_20_april.text
    [digest_27_april] = [a for a in runner.to("CPARTNER1") if a.day == d(27, 4)]
    assert "Workstream updates" not in digest_27_april.text

    # Private things stay private: no reason and no restricted title in any post.
    for arrival in arrivals:
        assert not any(reason in arrival.text for reason in REASONS)
        assert "Union Street depot" not in arrival.text
