"""The App Home tab: a person's open actions, next meetings and workstreams."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.commands import home
from bot.commands.shapes import Message
from bot.jobs.deliveries import Claimed, send_due
from bot.jobs.leases import claim
from services import outbox, people
from services import partnership as partnership_service
from storage.models import Delivery
from storage.session import transaction


def view_of(sessions, clock, key: str) -> Message:
    with sessions() as session:
        person = people.by_key(session, key)
        zone = partnership_service.zone(partnership_service.get(session))
        return home.view(session, person=person, now=clock.now(), zone=zone)


def texts(message: Message) -> list[str]:
    return [s.text for s in message.sections]


def home_deliveries(sessions) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == "home").order_by(Delivery.id)))


def test_a_lead_sees_open_actions_meetings_and_workstreams(demo, clock, type_command):
    type_command("/update joint amber Pooled budget delayed", person="fire")
    clock.set(clock.now() + timedelta(days=3))
    shown = texts(view_of(demo, clock, "fire"))
    assert shown[0] == "*Your open actions (2)*, oldest due first"
    assert "Send station and estates data" in shown[1] and "overdue" in shown[1]
    assert "Bring options for a joint early help commission" in shown[2]
    meetings = shown.index("*Your next meetings*")
    assert shown[meetings + 1] == (
        "*Chorley Public Service Reform Board*: Tue 21 Apr 2015, 16:00–17:30, Committee Room 1 — you are expected"
    )
    assert len(shown[meetings + 1 : shown.index("*Your workstreams*")]) == 5
    workstreams = shown.index("*Your workstreams*")
    assert shown[workstreams + 1] == "*Joint Commissioning* (lead) — 🟠 Amber, reported 3 days ago"
    assert shown[workstreams + 2].startswith("*Integrated Assets* (contributor) — no updates yet")


def test_each_open_action_carries_its_buttons_and_each_meeting_an_apologies_button(demo, clock, type_command):
    message = view_of(demo, clock, "fire")
    action = message.sections[1]
    assert [b.label for b in action.buttons] == ["Done", "Snooze a week", "New due date"]
    meeting = next(s for s in message.sections if "Board*: Tue 21 Apr 2015" in s.text)
    assert meeting.text.endswith("you are expected")
    assert [(b.label, b.command) for b in meeting.buttons] == [("Send apologies", "/apologies 21/04/2015")]
    type_command("/apologies 21/04/2015 At a conference", person="fire")
    meeting = next(s for s in view_of(demo, clock, "fire").sections if "Board*: Tue 21 Apr 2015" in s.text)
    assert meeting.text.endswith("you have sent apologies")
    assert [(b.label, b.command) for b in meeting.buttons] == [
        ("Withdraw apologies", "/apologies withdraw 21/04/2015")
    ]


def test_a_workstream_silent_for_four_weeks_is_due_an_update(demo, clock, type_command):
    type_command("/update joint green On track", person="fire")
    clock.set(clock.now() + timedelta(days=30))
    assert "🟢 Green, reported 4 weeks ago — due an update" in "\n".join(texts(view_of(demo, clock, "fire")))


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Claimed] = []

    def send(self, delivery: Claimed) -> None:
        self.sent.append(delivery)


def publish_due(sessions, clock) -> list[Message]:
    """Send what is due through the Home tab publisher; the Home tabs it built."""
    slack = Recorder()
    send_due(sessions, clock, home.Publisher(sessions, clock, slack))
    return [Message.from_payload(d.payload) for d in slack.sent if d.kind == "home"]


def test_a_change_republishes_the_changers_home_tab_and_a_refusal_does_not(demo, clock, type_command):
    assert home_deliveries(demo) == []
    type_command("/action list", person="fire")  # a read changes nothing
    type_command("/update joint green " + "x" * 3100, person="fire")  # refused
    assert home_deliveries(demo) == []
    type_command("/update joint green On track", person="fire")
    [delivery] = home_deliveries(demo)
    assert delivery.target == "U0FIRE001" and delivery.key.startswith("home:U0FIRE001:")
    assert publish_due(demo, clock) == []  # published a moment later, with whatever else follows
    type_command("/action add Draft the pooled budget | fire | 1 May", person="fire")
    assert len(home_deliveries(demo)) == 1  # the waiting publish will show this change too
    clock.set(clock.now() + home.REFRESH_DELAY)
    [published] = publish_due(demo, clock)
    shown = str(published.to_payload())
    assert "Joint Commissioning* (lead) — 🟢 Green, reported today" in shown
    assert "Draft the pooled budget" in shown
    type_command("/action add Book the room | fire | 2 May", person="fire")
    assert len(home_deliveries(demo)) == 2  # the last was sent: a change after it gets its own


def test_a_change_to_someone_elses_action_republishes_their_home_tab_too(demo, clock, type_command):
    type_command("/action done A11", person="clerk")  # an officer, on the fire service's action
    assert sorted(d.target for d in home_deliveries(demo)) == ["U0CLERK01", "U0FIRE001"]
    clock.set(clock.now() + home.REFRESH_DELAY)
    published = {m.text: str(m.to_payload()) for m in publish_due(demo, clock)}
    assert "Send station and estates data" not in published["partnerbot for Ray Cottam"]

    type_command("/action assign A16 dwp", person="clerk")  # from the fire service to the DWP
    type_command("/action add Book the room | fire | 2 May", person="clerk")
    targets = [d.target for d in home_deliveries(demo)][2:]
    assert sorted(targets) == ["U0CLERK01", "U0DWP0001", "U0FIRE001"]  # each once, changes together
    type_command("/action assign A16 Programme Office", person="clerk")  # no one in Slack: no tab
    type_command("/action done A5", person="clerk")  # Chief Officers: no one in Slack either
    assert len(home_deliveries(demo)) == 5
    clock.set(clock.now() + home.REFRESH_DELAY)
    published = {m.text: str(m.to_payload()) for m in publish_due(demo, clock)}
    assert "Bring options" not in published["partnerbot for Imran Siddique"]
    assert "Book the room" in published["partnerbot for Ray Cottam"]


def test_a_change_queues_the_persons_home_tab_unless_one_is_waiting(demo, clock):
    now = clock.now()
    with transaction(demo) as session:
        home.changed(session, slack_user_id="U0FIRE001", now=now)
        assert home_deliveries(demo) == []  # queued as the transaction commits
    with transaction(demo) as session:
        home.changed(session, slack_user_id="U0FIRE001", now=now)
        home.changed(session, slack_user_id="U0CHAIR01", now=now)
    assert [d.target for d in home_deliveries(demo)] == ["U0FIRE001", "U0CHAIR01"]
    with pytest.raises(RuntimeError), transaction(demo) as session:
        home.changed(session, slack_user_id="U0CLERK01", now=now)
        raise RuntimeError("the change failed")
    assert len(home_deliveries(demo)) == 2  # nothing queued for a change rolled back


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_persons_changes_at_the_same_moment_do_not_wait_for_each_other(demo, clock):
    """A change's commit holds the waiting publish for a moment (so no sender
    claims it before the change is there to read); another change committing
    then queues a publish of its own instead of waiting (PostgreSQL: on SQLite
    writes go one at a time anyway)."""
    now = clock.now()
    with transaction(demo) as session:
        home.changed(session, slack_user_id="U0FIRE001", now=now)
    with transaction(demo) as first:
        first.execute(text("SELECT id FROM delivery WHERE kind = 'home' FOR UPDATE"))  # committing
        started = time.monotonic()
        with transaction(demo, lock_wait=2) as second:  # Busy if it waited out the lock
            home.changed(second, slack_user_id="U0FIRE001", now=now)
        assert time.monotonic() - started < 1
    assert len(home_deliveries(demo)) == 2


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_publish_claimed_while_a_change_is_made_is_followed_by_another(demo, clock):
    """The sender may claim the waiting publish, and build the tab, before a
    change commits (PostgreSQL; on SQLite the change holds the write lock from
    its start): the change then queues a publish of its own, which shows it."""
    now = clock.now()
    with transaction(demo) as session:
        home.changed(session, slack_user_id="U0FIRE001", now=now)
    with transaction(demo) as session:
        home.changed(session, slack_user_id="U0FIRE001", now=now)
        [claimed] = claim(demo, now=now + home.REFRESH_DELAY, limit=10)
    assert claimed.kind == "home"
    assert len(home_deliveries(demo)) == 2


def test_a_change_finds_the_waiting_publish_by_index_however_many_messages_wait(demo, clock):
    """Slack away for a while: thousands of messages wait, and every change looks
    for its person's waiting publish among them, by index rather than reading
    each (0.7 ms a change with a thousand waiting, on the status index alone)."""
    now = clock.now()
    waiting = [outbox.Message(f"post:{n}", "channel", "C0BOARD01", {"text": "…"}) for n in range(5000)]
    with transaction(demo) as session:
        outbox.enqueue_many(session, waiting, due_at=now, now=now)
        home.changed(session, slack_user_id="U0FIRE001", now=now)
    with transaction(demo) as session:
        dialect = session.get_bind().dialect
        if dialect.name == "postgresql":
            session.execute(text("ANALYZE delivery"))
        compiled = outbox._queued_unless_waiting(dialect.name).statement.compile(dialect=dialect)
        values = compiled.construct_params(
            {"key": "home:U0FIRE001:x", "kind": "home", "target": "U0FIRE001", "payload": "{}"}
            | outbox._pending(now, now)
        )
        explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
        arguments = (
            tuple(values[name] for name in compiled.positiontup or ()) if compiled.positional else values
        )
        plan = str(session.connection().exec_driver_sql(explain + compiled.string, arguments).all())
        assert "ix_delivery_kind_target_status" in plan, plan


def test_a_home_tab_is_built_when_it_is_sent_not_when_it_was_queued(demo, clock, type_command):
    type_command("/update joint green On track", person="fire")
    clock.set(clock.now() + timedelta(days=6))
    [published] = publish_due(demo, clock)
    assert "🟢 Green, reported 6 days ago" in str(published.to_payload())


def test_someone_not_in_the_file_who_opens_the_home_tab_is_told_how_to_join(demo, clock):
    with transaction(demo) as session:
        home.opened(session, slack_user_id="U0NOBODY1", now=clock.now())
    [published] = publish_due(demo, clock)
    assert "not in the partnership file yet" in str(published.to_payload())


def test_someone_who_has_left_is_told_so_and_sees_their_actions_without_buttons(demo, clock, leave):
    leave("fire")
    message = view_of(demo, clock, "fire")
    shown = texts(message)
    assert shown[:2] == [
        "You left the partnership on Mon 13 Apr 2015: the partnership file loaded then does not list "
        "you, so partnerbot no longer reminds you of anything. If that is wrong, ask an officer to put "
        "you back in the file.",
        "*Open actions still in your name (2)*: the officers chase them now, and can give them to "
        "someone else.",
    ]
    assert "Send station and estates data" in shown[2]
    assert "Bring options for a joint early help commission" in shown[3]
    assert len(shown) == 4 and not any(s.buttons for s in message.sections)


def test_an_officer_sees_the_actions_they_chase_for_others_with_their_buttons(demo, clock):
    # The reminders about free-text owners' actions go to the officers of the action's
    # group (of its meeting, else its workstream), and of every group for those of none.
    message = view_of(demo, clock, "clerk")  # an officer of all three groups
    shown = texts(message)
    start = shown.index(
        "*Actions you chase for others (3)*: partnerbot cannot remind their owners (written as free text, "
        "or who have left the partnership), so it reminds you as an officer"
    )
    chased = message.sections[start + 1 : start + 4]
    assert [s.text.split(" ", 1)[0] for s in chased] == ["*A5*", "*A8*", "*A2*"]
    assert "Group Leads (free text), due Fri 10 Apr 2015 (*overdue* 3 days)" in chased[2].text
    assert [b.command for b in chased[2].buttons] == [
        "/action done A2",
        "/action snooze A2",
        "/action due A2",
    ]
    assert shown[start + 4] == "*Your next meetings*"
    # An officer of the Implementation Group alone: the free-text action of no group.
    shown = texts(view_of(demo, clock, "programme"))
    start = shown.index(next(t for t in shown if t.startswith("*Actions you chase for others (1)*")))
    assert shown[start + 1].startswith("*A2* Working Group updates at CPSRB")
    # The chair and a member are not reminded of them.
    for key in ("chair", "fire"):
        assert not [t for t in texts(view_of(demo, clock, key)) if "chase for others" in t]


def test_an_officer_chases_the_actions_of_someone_who_has_left(demo, clock, leave):
    leave("fire")
    shown = texts(view_of(demo, clock, "programme"))
    start = shown.index(next(t for t in shown if t.startswith("*Actions you chase for others (")))
    assert shown[start].startswith("*Actions you chase for others (2)*")
    assert shown[start + 1].startswith(
        "*A11* Send station and estates data for the asset register — Ray Cottam (has left), due Fri 20 Mar 2015"
    )
    assert shown[start + 2].startswith("*A2* ")


def test_an_officer_with_many_actions_to_chase_sees_ten_and_how_many_more(demo, clock, type_command):
    for n in range(30):
        assert type_command(
            f"/action add Task {n + 1} | Schools Forum | {1 + n % 28}/5/2015", person="clerk"
        ).ok
    message = view_of(demo, clock, "programme")
    shown = texts(message)
    start = shown.index(next(t for t in shown if t.startswith("*Actions you chase for others (")))
    assert shown[start].startswith("*Actions you chase for others (31)*")
    assert shown[start + 11] == "…and 21 more: `/action list all` shows every open action"
    assert 1 + sum(2 if s.buttons else 1 for s in message.sections) <= 100


def test_someone_with_no_slack_account_gets_no_home_tab(demo, clock, type_command):
    type_command("/action add Consult schools | Schools Forum | 1 May", person="youth")
    assert home_deliveries(demo) == []


def test_two_hundred_open_actions_fit_the_home_tab(demo, clock, type_command):
    for n in range(200):
        type_command(f"/action add Task {n + 1} | fire | {1 + n % 28}/5/2015", person="clerk")
    message = view_of(demo, clock, "fire")
    blocks = 1 + sum(2 if s.buttons else 1 for s in message.sections)
    assert blocks <= 100
    more = next(s for s in message.sections if s.text.startswith("…and"))
    shown = sum(1 for s in message.sections if s.buttons and s.buttons[0].label == "Done")
    assert more.text.startswith(f"…and {202 - shown} more")
    assert shown >= 30
    assert "*Your workstreams*" in texts(message)
