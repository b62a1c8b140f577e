"""run_due: what fell due is queued once, caught up after downtime by SPEC 5's
rules, and never repeated however often or on how many processes it runs."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, update

from bot.jobs import nudges
from bot.jobs.run_due import decide, queue_due
from bot.jobs.schedule import create_scheduler
from services.clock import MovableClock
from services.working_days import WorkingDays
from storage.models import Delivery, Meeting, Partnership, Person, Reminder
from tests.jobs.conftest import LONDON, add_action, each_day, sent_keys

DEMO_MONDAY = datetime(2015, 4, 13, 9, 0, tzinfo=LONDON)


def d(day: int, month: int, year: int = 2015) -> date:
    return date(year, month, day)


def test_after_a_week_of_downtime_what_fell_due_in_it_is_caught_up_once(runner, demo):
    for day in each_day(d(23, 3), d(1, 4)):
        runner.run(day)
    # Down from Thu 2 Apr 09:00 (Easter) until Thu 9 Apr 13:30.
    caught_up = runner.run(d(9, 4), time(13, 30))
    by_channel = {a.channel: a.text for a in caught_up}
    # Ray's 3rd nudge (Tue 7 Apr) and its escalation; Imran's 2nd nudge (Tue 7 Apr).
    assert "*A11*" in by_channel["DU0FIRE001"] and "(3rd reminder)" in by_channel["DU0FIRE001"]
    assert "*A11*" in by_channel["DU0ASSET01"] and "Escalated" in by_channel["DU0ASSET01"]
    assert "(2nd reminder)" in by_channel["DU0DWP0001"]
    # The Board's call for items (Tue 7 Apr) still stands: its items deadline is Sat 11 Apr.
    assert "Call for agenda items" in by_channel["CBOARD001"]
    # The Implementation Group met on Wed 8 Apr: its reminders are stale, not sent late.
    assert "CIMPL0001" not in by_channel
    assert not [a for a in caught_up if "Wed 8 Apr 2015" in a.text]
    # Mon 6 Apr's digest is more than 12 hours old: not sent.
    assert "CPARTNER1" not in by_channel
    # Nothing older than 7 days: Thu 2 Apr's "publish the agenda" (exactly 7 days ago) is not sent.
    assert not [a for a in caught_up if "Publish the agenda" in a.text]
    # One message per person, however many days were missed.
    people = [a.channel for a in caught_up if a.channel.startswith("D")]
    assert len(people) == len(set(people))
    before = sent_keys(demo)
    assert runner.run(d(9, 4), time(13, 30)) == []
    assert runner.run(d(9, 4), time(13, 31)) == []
    assert sent_keys(demo) == before


def test_the_day_before_a_meeting_online_or_in_a_room_and_online_the_channel_is_given_the_link(runner, demo):
    # The Implementation Group's July meeting is online; the Board's April one gains a link too.
    with demo() as session, session.begin():
        board = session.scalar(
            select(Meeting).where(Meeting.starts_at == datetime(2015, 4, 21, 16, 0, tzinfo=LONDON))
        )
        board.url = "https://meet.example.org/cpsrb-2015-04"
    [april] = [a.text for a in runner.run(d(20, 4)) if "Meeting tomorrow" in a.text]
    assert "Where: Committee Room 1, or online: https://meet.example.org/cpsrb-2015-04." in april
    [july] = [a.text for a in runner.run(d(7, 7)) if "Meeting tomorrow" in a.text]
    assert "Where: online: https://meet.example.org/cpsig-2015-07." in july


def test_an_agenda_unpublished_at_its_deadline_is_said_to_be_late_when_caught_up_the_day_after(runner):
    # The Board of Tue 16 Jun: its agenda must go out by Thu 11 Jun; down over that morning.
    runner.run(d(10, 6))
    caught_up = runner.run(d(12, 6), time(10, 0))
    [said] = [a.text for a in caught_up if a.channel == "DU0CHAIR01" and "The agenda is" in a.text]
    assert said == (
        "*The agenda is late* for the Chorley Public Service Reform Board, Tue 16 Jun 2015, 16:00: "
        "Thu 11 Jun 2015 was the last day to circulate it (5 days before the meeting, as the terms "
        "of reference ask). `/agenda publish` sends it now, marked as late."
    )


@pytest.mark.parametrize(
    ("back", "board_told"),
    [
        (d(4, 6), ["Call for agenda items"]),
        # "Items close tomorrow" is due too, and says the same: the call is left to it.
        (d(5, 6), ["Agenda items close tomorrow (Sat 6 Jun 2015)"]),
    ],
)
def test_a_call_for_agenda_items_is_caught_up_unless_they_close_tomorrow(runner, back, board_told):
    # The Board of Tue 16 Jun: items due Sat 6 Jun, called for on Tue 2 Jun; down from that morning.
    runner.run(d(1, 6))
    caught_up = runner.run(back, time(10, 0))
    assert [a.text.split("*")[1] for a in caught_up if a.channel == "CBOARD001"] == board_told


def test_the_digest_is_caught_up_within_twelve_hours_and_not_after(runner):
    assert [a.channel for a in runner.run(d(13, 4), time(20, 59)) if a.channel == "CPARTNER1"] == [
        "CPARTNER1"
    ]
    assert [a for a in runner.run(d(20, 4), time(21, 1)) if a.channel == "CPARTNER1"] == []


def _done_at(demo, ref: str, moment: datetime) -> None:
    from services import actions

    with demo() as session, session.begin():
        clerk = session.scalar(select(Person).where(Person.key == "clerk"))
        actions.mark_done(session, now=moment, actor=clerk, action=actions.get(session, ref))


def _digests(runner) -> list[str]:
    return [a.text for a in runner.to("CPARTNER1")]


def test_what_a_digest_caught_up_late_listed_is_not_listed_again_the_week_after(demo, runner):
    late = add_action(demo, what="Book the room", owner="fire", due=d(30, 4), now=DEMO_MONDAY)
    after = add_action(demo, what="Send the minutes", owner="fire", due=d(30, 4), now=DEMO_MONDAY)
    # Down over Monday's 09:00: an action done at 10:00, the digest caught up at 11:00,
    # another action done at 11:30.
    _done_at(demo, late, datetime(2015, 4, 13, 10, tzinfo=LONDON))
    runner.run(d(13, 4), time(11, 0))
    _done_at(demo, after, datetime(2015, 4, 13, 11, 30, tzinfo=LONDON))
    runner.run(d(20, 4))
    [monday, next_monday] = _digests(runner)
    assert f"*{late}* Book the room" in monday and f"*{after}*" not in monday
    assert f"*{after}* Send the minutes" in next_monday and f"*{late}*" not in next_monday


def test_what_was_done_after_a_digest_posted_early_is_in_the_next_one(demo, clock, runner, type_command):
    ref = add_action(demo, what="Book the room", owner="fire", due=d(30, 4), now=DEMO_MONDAY)
    clock.set(datetime(2015, 4, 13, 8, 0, tzinfo=LONDON))
    assert type_command("/digest post", person="clerk").ok  # Monday's, an hour early
    _done_at(demo, ref, datetime(2015, 4, 13, 8, 30, tzinfo=LONDON))
    runner.run(d(13, 4))  # the scheduled one finds it posted
    runner.run(d(20, 4))
    [early, next_monday] = _digests(runner)
    assert f"*{ref}*" not in early
    assert "*Done since Mon 13 Apr 2015*" in next_monday and f"*{ref}* Book the room" in next_monday


def test_running_twice_at_one_instant_queues_nothing_new(demo, clock):
    clock.set(clock.now() + timedelta(days=1))
    first = queue_due(sessions=demo, now=clock.now())
    with demo() as session:
        deliveries = session.scalar(select(func.count()).select_from(Delivery))
        recorded = session.scalar(select(func.count()).select_from(Reminder))
    assert first > 0
    assert queue_due(sessions=demo, now=clock.now()) == 0
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == deliveries
        assert session.scalar(select(func.count()).select_from(Reminder)) == recorded


def test_a_person_with_no_slack_id_is_skipped_with_a_log_line_once(demo, clock, runner, caplog):
    caplog.set_level(logging.INFO, logger="partnerbot.jobs")
    runner.run(d(28, 4))  # Amira's A13 is due Thu 30 Apr
    runner.run(d(28, 4), time(9, 1))
    skipped = [r for r in caplog.records if r.getMessage() == "message not sent: no Slack user id"]
    assert [r.person for r in skipped] == ["youth"]
    assert not [a for a in runner.arrivals if "*A13*" in a.text]


def test_an_action_done_before_its_nudge_is_not_nudged(demo, clock, runner):
    ref = add_action(demo, what="Book the room", owner="fire", due=d(22, 4), now=clock.now())
    runner.run(d(20, 4))
    assert runner.days("DU0FIRE001", f"*{ref}*") == [d(20, 4)]  # due soon
    from services import actions

    with demo() as session, session.begin():
        fire = session.scalar(select(Person).where(Person.key == "fire"))
        actions.mark_done(session, now=clock.now(), actor=fire, action=actions.get(session, ref))
    for day in each_day(d(21, 4), d(6, 5)):
        runner.run(day)
    assert runner.days("DU0FIRE001", f"*{ref}*") == [d(20, 4)]


def test_reminders_of_an_action_whose_owner_has_left_go_to_the_officers(demo, clock, runner):
    ref = add_action(demo, what="Book the room", owner="fire", due=d(22, 4), now=clock.now())
    with demo() as session, session.begin():  # as a partnership file without them leaves them
        session.execute(update(Person).where(Person.key == "fire").values(left_at=clock.now()))
    runner.run(d(20, 4))  # due soon
    runner.run(d(23, 4))  # overdue
    assert runner.days("DU0FIRE001", f"*{ref}*") == []
    [due_soon, overdue] = [a.text for a in runner.to("DU0CLERK01") if f"*{ref}*" in a.text]
    assert f"*{ref}* Book the room (owner: Ray Cottam, who has left)\nDue Wed 22 Apr 2015." in due_soon
    assert "1 day overdue (1st reminder)" in overdue


def test_a_new_due_date_starts_the_reminders_again(demo, clock, runner):
    ref = add_action(demo, what="Book the room", owner="fire", due=d(22, 4), now=clock.now())
    runner.run(d(23, 4))
    with demo() as session, session.begin():
        from services import actions

        action = actions.get(session, ref)
        action.due = d(29, 4)
    for day in each_day(d(24, 4), d(30, 4)):
        runner.run(day)
    assert runner.days("DU0FIRE001", f"*{ref}*") == [d(23, 4), d(27, 4), d(30, 4)]


def test_many_late_actions_make_one_message_within_slacks_limits(demo, clock, runner):
    for n in range(60):
        add_action(
            demo,
            what="Chase " + "the estates data " * 40,
            owner="fire",
            due=d(1, 4) + timedelta(n % 5),
            now=clock.now(),
        )
    [message] = [a for a in runner.run(d(13, 4)) if a.channel == "DU0FIRE001"]
    with demo() as session:
        payload = session.scalar(select(Delivery.payload).where(Delivery.key == "nudges:fire:2015-04-13"))
    sections = payload["sections"]
    assert len(sections) == nudges.MAX_SECTIONS + 1  # and a last "and N more"
    assert sections[-1]["text"].startswith("…and 41 more")  # 60 new and A11, 20 shown
    assert all(len(s["text"]) <= 3000 for s in sections)
    assert 2 * len(sections) + 1 <= 50  # a section and its buttons each: within Slack's 50 blocks
    assert len(message.text) <= 40_000
    assert sections[0]["buttons"] == [
        {"label": "Done", "command": "/action done A11", "style": "primary"},
        {"label": "Snooze a week", "command": "/action snooze A11"},
        {"label": "New due date", "command": "/action due A11"},
    ]
    # In Slack: the headline, then each action once with its buttons, then "and 41 more".
    [post] = [p for p in runner.slack_api.posts() if p["channel"] == "DU0FIRE001"]
    assert post["text"] == "*Actions to chase*, Mon 13 Apr 2015: 61 overdue."
    texts = [block["text"]["text"] for block in post["blocks"] if block["type"] == "section"]
    assert texts[0] == post["text"] and texts[-1].startswith("…and 41 more")
    assert len(texts) == 1 + nudges.MAX_SECTIONS + 1
    assert all(re.match(r"\*A\d+\* ", text) for text in texts[1:-1])
    assert sum(block["type"] == "actions" for block in post["blocks"]) == nudges.MAX_SECTIONS


@pytest.mark.parametrize(
    ("nation", "day", "working"),
    [
        ("england-and-wales", d(6, 4), False),  # Easter Monday
        ("scotland", d(6, 4), True),  # not a bank holiday in Scotland
        ("scotland", d(2, 1), False),  # 2 January is
        ("northern-ireland", d(17, 3), False),  # St Patrick's Day
        ("england-and-wales", d(28, 12), False),  # Boxing Day, observed
        ("england-and-wales", d(29, 12), True),
        ("england-and-wales", d(4, 4), False),  # a Saturday
    ],
)
def test_working_days_follow_the_partnerships_nation(nation, day, working):
    assert WorkingDays(nation).is_working(day) is working


def test_in_scotland_the_nudge_is_not_moved_over_easter_monday(demo, clock, runner):
    with demo() as session, session.begin():
        session.execute(update(Partnership).values(holidays="scotland"))
    runner.run(d(6, 4))
    assert runner.days("DU0FIRE001", "*A11*", "(3rd reminder)") == [d(6, 4)]


def test_the_scheduler_only_runs_run_due_every_minute_coalesced_and_never_skips_a_late_run(demo):
    scheduler = create_scheduler(
        sessions=demo, clock=MovableClock(clock_now()), sender=object(), timezone="Europe/London"
    )
    [job] = scheduler.get_jobs()
    assert job.id == "run-due" and job.func.__name__ == "run_due"
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(minutes=1)
    assert job.coalesce is True and job.max_instances == 1
    assert job.misfire_grace_time is None  # a laptop that slept an hour still runs once on waking


def clock_now():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime(2015, 4, 13, 9, tzinfo=ZoneInfo("Europe/London"))


def test_a_snoozed_action_gets_no_nudge_until_the_snooze_ends(demo, runner):
    from storage.models import Action

    with demo() as session, session.begin():  # as `/action snooze A11` on Sat 11 Apr leaves it
        session.execute(update(Action).where(Action.number == 11).values(snoozed_until=d(18, 4)))
    for day in each_day(d(13, 4), d(20, 4)):
        runner.run(day)
    assert runner.days("DU0FIRE001", "*A11*") == [d(20, 4)]  # the 5th nudge; the 4th (13 Apr) was snoozed
    assert runner.days("DU0ASSET01", "*A11*") == []


def test_what_is_caught_up_about_actions_and_agendas_waits_for_a_working_day(runner):
    for day in each_day(d(6, 4), d(9, 4)):
        runner.run(day)
    # Down on Fri 10 Apr; back on Saturday morning.
    assert runner.run(d(11, 4), time(10, 0)) == []
    monday = runner.run(d(13, 4))
    # Group Leads' A2 (due Fri 10 Apr) is nudged on Monday, not on the Saturday.
    assert [a.day for a in monday if a.channel == "DU0CLERK01" and "*A2*" in a.text] == [d(13, 4)]
    # The Board's "items close tomorrow" (Fri 10 Apr) was for a deadline now past: never sent.
    assert runner.days("CBOARD001", "Agenda items close") == []


def test_working_out_what_is_due_takes_the_same_statements_for_ten_times_the_actions(engine, demo, clock):
    from tests.statements import counting

    now = datetime(2015, 4, 14, 9, 0, tzinfo=LONDON)

    def count() -> tuple[int, int]:
        with counting(engine) as statements:
            decided = decide(demo, now)
        return len(statements), len(decided)

    small, messages = count()
    for n in range(150):  # ten times the demo's actions, all Ray's, due on every day around
        add_action(
            demo, what=f"Estates return {n}", owner="fire", due=d(1, 3) + timedelta(n % 60), now=clock.now()
        )
    large, more_messages = count()
    assert large == small <= 12
    assert more_messages == messages  # the new actions join Ray's one message of the day


def test_two_runs_at_once_queue_each_message_once(demo, db, clock):
    import threading

    now = datetime(2015, 4, 14, 9, 0, tzinfo=LONDON)
    decided = decide(demo, now)
    expected = [m.key for m in decided if m.target is not None]
    start = threading.Barrier(3)
    results: list[int] = []

    def run() -> None:
        start.wait()
        results.append(queue_due(sessions=demo, now=now))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(results) == len(expected)
    with demo() as session:
        assert sorted(session.scalars(select(Delivery.key))) == sorted(expected)
        recorded = list(session.scalars(select(Reminder.key)))
    assert sorted(recorded) == sorted(k for m in decided for k in (m.reminders if m.target else m.marks))


def test_a_mornings_messages_and_their_reminders_are_queued_in_one_statement_each(engine, demo):
    from tests.statements import counting

    now = datetime(2015, 4, 14, 9, 0, tzinfo=LONDON)
    decided = decide(demo, now)
    expected = [m.key for m in decided if m.target is not None]
    with counting(engine) as statements:
        assert queue_due(sessions=demo, now=now) == len(expected) > 3
    inserts = [s.split("(")[0].strip() for s in statements if s.startswith("INSERT")]
    assert inserts == ["INSERT INTO reminder", "INSERT INTO delivery"]
    with demo() as session:
        assert sorted(session.scalars(select(Delivery.key))) == sorted(expected)
        recorded = sorted(session.scalars(select(Reminder.key)))
    assert recorded == sorted(k for m in decided for k in (m.reminders if m.target else m.marks))


def test_a_message_another_run_queued_first_is_left_alone_and_the_rest_still_go(demo):
    from bot.jobs import outgoing
    from services import outbox

    now = datetime(2015, 4, 14, 9, 0, tzinfo=LONDON)
    decided = decide(demo, now)
    taken = next(m for m in decided if m.target is not None and m.reminders)
    with demo() as session, session.begin():  # another run, between this one's decision and its queueing
        outbox.enqueue(
            session,
            key=taken.key,
            kind=taken.kind,
            target=taken.target or "",
            payload={"text": "the other run's"},
            due_at=now,
            now=now,
        )
    others = [m for m in decided if m is not taken]
    assert outgoing.queue_all(demo, decided, now=now) == sum(1 for m in others if m.target is not None)
    with demo() as session:
        payloads = dict(session.execute(select(Delivery.key, Delivery.payload)).all())
        recorded = set(session.scalars(select(Reminder.key)))
    assert payloads[taken.key] == {"text": "the other run's"}
    assert set(payloads) == {taken.key} | {m.key for m in others if m.target is not None}
    # Its reminders are the other run's to record; this run's were rolled back with it.
    assert recorded == {k for m in others for k in (m.reminders if m.target else m.marks)}
