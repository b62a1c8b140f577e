"""Invitations: every member with an e-mail address gets the meeting as an iTIP
message, queued with the change, raised SEQUENCE on a move, CANCEL on a cancellation."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import vobject
from sqlalchemy import select

from bot.commands.core import Site
from services.invites import invite_newcomers, queue_invitations, uninvite
from storage.models import Delivery, Group, Meeting, Membership, Partnership, Person
from storage.partnership_file import load, read_file
from tests.calendar.conftest import BASE_URL, SECRET, change_meeting, events, feed_path, fetch
from tests.conftest import DEMO_FILE, LONDON

APRIL = datetime(2015, 4, 21, 16, 0, tzinfo=LONDON)


def invite(db, clock, starts=APRIL) -> int:
    with db() as session, session.begin():
        meeting = session.scalar(select(Meeting).where(Meeting.starts_at == starts))
        return queue_invitations(session, meeting=meeting, now=clock.now())


def queued(db) -> list[Delivery]:
    with db() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == "email").order_by(Delivery.id)))


def board_emails(db) -> set[str]:
    with db() as session:
        return set(
            session.scalars(
                select(Person.email)
                .join(Membership, Membership.person_id == Person.id)
                .join(Group, Group.id == Membership.group_id)
                .where(Group.slug == "board", Person.email.is_not(None))
            )
        )


def test_each_board_member_with_an_e_mail_gets_one_invitation(demo, clock):
    emails = board_emails(demo)
    assert len(emails) == 16  # two members have no e-mail address
    assert invite(demo, clock) == 16
    deliveries = queued(demo)
    assert {d.target for d in deliveries} == emails
    assert {d.payload["to"] for d in deliveries} == emails
    with demo() as session:
        uid = session.scalar(select(Meeting.uid).where(Meeting.starts_at == APRIL))
    assert {d.key for d in deliveries} >= {f"request:{uid}:0:clerk", f"request:{uid}:0:chair"}
    assert invite(demo, clock) == 0  # the same version again sends nothing more
    assert len(queued(demo)) == 16


def test_the_invitation_is_an_itip_request_with_every_member_and_no_rsvp(demo, clock):
    invite(demo, clock)
    payload = next(d.payload for d in queued(demo) if d.key.endswith(":clerk"))
    assert payload["method"] == "REQUEST"
    assert payload["subject"] == "Invitation: Chorley Public Service Reform Board, Tue 21 Apr 2015 16:00"
    cal = icalendar.Calendar.from_ical(payload["ics"])
    assert cal["method"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["organizer"]) == "mailto:psr@example.org"
    assert event["organizer"].params["CN"] == "Chorley Public Service Reform Partnership"
    attendees = event["attendee"]
    assert {str(a).removeprefix("mailto:") for a in attendees} == board_emails(demo)
    assert all(a.params["RSVP"] == "FALSE" for a in attendees)
    roles = {str(a).removeprefix("mailto:"): a.params["ROLE"] for a in attendees}
    assert roles["rosalind.ashcroft@example.org"] == "CHAIR"
    assert roles["priya.raman@example.org"] == "OPT-PARTICIPANT"  # an observer
    assert event["sequence"] == 0 and event["status"] == "CONFIRMED"
    assert event.decoded("dtstamp") == clock.now()
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    # A second parser agrees.
    parsed = vobject.readOne(payload["ics"])
    assert parsed.method.value == "REQUEST"
    assert parsed.vevent.dtstart.value.astimezone(LONDON) == APRIL
    text = payload["text"]
    assert text.startswith(
        "Dear Jess Marland,\n\nYou are invited to a meeting of the Chorley Public Service Reform Board."
    )
    assert "When: Tue 21 Apr 2015, 16:00 to 17:30 (Europe/London time)" in text
    assert "send your apologies in Slack with /apologies (e.g. /apologies 21/04/2015" in text


def test_an_invitation_across_the_clocks_going_back_gives_each_time_its_zone(demo, clock):
    first_half_past_one = datetime(2015, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST; 01:30 GMT comes after
    moved = change_meeting(demo, clock, group="board", starts=APRIL, starts_at=first_half_past_one)
    invite(demo, clock, starts=moved.starts_at)
    text = next(d.payload["text"] for d in queued(demo) if d.key.endswith(":clerk"))
    assert "When: Sun 25 Oct 2015, 01:30 BST to 02:00 GMT (Europe/London time)" in text


def test_the_invitation_and_the_feed_share_uid_and_sequence_after_a_move(demo, clock, type_calendar, web):
    path = feed_path(type_calendar("/calendar").text)
    invite(demo, clock)
    clock.set(datetime(2015, 4, 14, 11, 0, tzinfo=LONDON))
    moved = change_meeting(
        demo, clock, group="board", starts=APRIL, starts_at=datetime(2015, 4, 28, 16, 0, tzinfo=LONDON)
    )
    assert invite(demo, clock, starts=moved.starts_at) == 16
    update = next(d.payload for d in queued(demo) if d.key == f"request:{moved.uid}:1:clerk")
    assert (
        update["subject"] == "Updated invitation: Chorley Public Service Reform Board, Tue 28 Apr 2015 16:00"
    )
    assert "has changed; these are its details now" in update["text"]
    [sent] = icalendar.Calendar.from_ical(update["ics"]).walk("VEVENT")
    in_feed = events(fetch(web, path).content)["Chorley Public Service Reform Board 2015-04-28 16:00"]
    assert str(sent["uid"]) == str(in_feed["uid"]) == moved.uid
    assert sent["sequence"] == in_feed["sequence"] == 1
    assert (
        sent.decoded("dtstart") == in_feed.decoded("dtstart") == datetime(2015, 4, 28, 16, 0, tzinfo=LONDON)
    )


def test_a_cancellation_sends_method_cancel(demo, clock):
    invite(demo, clock)
    cancelled = change_meeting(demo, clock, group="board", starts=APRIL, status="cancelled")
    assert invite(demo, clock) == 16
    cancel = next(d.payload for d in queued(demo) if d.key == f"cancel:{cancelled.uid}:1:clerk")
    assert cancel["method"] == "CANCEL"
    assert cancel["subject"] == "Cancelled: Chorley Public Service Reform Board, Tue 21 Apr 2015 16:00"
    cal = icalendar.Calendar.from_ical(cancel["ics"])
    assert cal["method"] == "CANCEL"
    [event] = cal.walk("VEVENT")
    assert event["status"] == "CANCELLED" and event["sequence"] == 1
    assert "is cancelled" in cancel["text"] and "/apologies" not in cancel["text"]


def test_without_an_organiser_address_nothing_is_queued(demo, clock):
    with demo() as session, session.begin():
        session.scalar(select(Partnership)).organiser_email = None
    assert invite(demo, clock) == 0
    assert queued(demo) == []


def test_moving_and_cancelling_a_meeting_e_mails_each_member_the_new_version(demo, type_calendar):
    moved = type_calendar("/meeting move 21 Apr to 28 Apr", channel="CBOARD001")
    assert moved.ok, moved.text
    assert "Calendar invitations e-mailed to 16 members." in moved.text
    [post] = [p for p in moved.posts if p.kind == "channel"]
    assert post.text.startswith("*Meeting moved*") and "invitations e-mailed" in post.text
    cancelled = type_calendar("/meeting cancel 28 Apr", channel="CBOARD001")
    assert "Calendar cancellations e-mailed to 16 members." in cancelled.text
    by_method: dict[str, set[str]] = {}
    for delivery in queued(demo):
        by_method.setdefault(delivery.payload["method"], set()).add(delivery.key.split(":")[-2])
    assert by_method == {"REQUEST": {"1"}, "CANCEL": {"2"}}  # SEQUENCE raised by each change


def test_a_meeting_moved_to_another_place_or_online_is_invited_there(demo, type_calendar):
    assert type_calendar("/meeting move 21 Apr to 21 Apr at Council Chamber", channel="CBOARD001").ok
    assert type_calendar(
        "/meeting move 21 Apr to 28 Apr at https://meet.example.org/cpsrb", channel="CBOARD001"
    ).ok
    by_sequence = {}
    for delivery in queued(demo):
        [sent] = icalendar.Calendar.from_ical(delivery.payload["ics"]).walk("VEVENT")
        said = [
            line for line in delivery.payload["text"].splitlines() if line.startswith(("Where", "Online"))
        ]
        by_sequence[int(sent["sequence"])] = (str(sent.get("location")), str(sent.get("url")), said)
    link = "https://meet.example.org/cpsrb"
    # Online, the link is where calendars show the place, and the e-mail sends nobody to the Town Hall.
    assert by_sequence == {
        1: ("Council Chamber", "None", ["Where: Council Chamber"]),
        2: (link, link, [f"Online: {link}"]),
    }


def test_without_e_mail_the_channel_post_carries_the_calendar_link(demo, type_calendar):
    moved = type_calendar(
        "/meeting move 21 Apr to 28 Apr",
        channel="CBOARD001",
        site=Site(public_base_url=BASE_URL, feed_secret=SECRET),
    )
    [post] = [p for p in moved.posts if p.kind == "channel"]
    assert f"{BASE_URL}/calendar/" in post.text and queued(demo) == []


def test_adding_meetings_says_per_meeting_what_was_e_mailed_or_gives_the_link_once(type_calendar):
    e_mailed = type_calendar("/meeting add 27/10/2015, 3/11/2015", channel="CBOARD001").text.splitlines()
    assert e_mailed[1:] == [
        "• Tue 27 Oct 2015, 16:00–17:30, Committee Room 1, Chorley Town Hall, Market Street, Chorley, PR7 1DP "
        "— Calendar invitations e-mailed to 16 members.",
        "• Tue 3 Nov 2015, 16:00–17:30, Committee Room 1, Chorley Town Hall, Market Street, Chorley, PR7 1DP "
        "— Calendar invitations e-mailed to 16 members.",
    ]
    linked = type_calendar(
        "/meeting add 10/11/2015, 17/11/2015",
        channel="CBOARD001",
        site=Site(public_base_url=BASE_URL, feed_secret=SECRET),
    ).text.splitlines()
    assert [line.split(",")[0] for line in linked[1:3]] == ["• Tue 10 Nov 2015", "• Tue 17 Nov 2015"]
    assert all(line.endswith("PR7 1DP") for line in linked[1:3])
    assert len(linked) == 4 and linked[3].startswith(
        f"Add the Chorley Public Service Reform Board's meetings to your calendar: {BASE_URL}/calendar/"
    )


JUNE = datetime(2015, 6, 16, 16, 0, tzinfo=LONDON)


def test_someone_taken_out_of_the_board_has_its_meetings_ahead_taken_out_of_their_calendar(
    demo, clock, leave
):
    invite(demo, clock)  # April's and June's Boards, not September's
    invite(demo, clock, starts=JUNE)
    clock.set(datetime(2015, 4, 22, 9, 0, tzinfo=LONDON))  # April's held
    leave("police")
    with demo() as session, session.begin():
        police = session.scalar(select(Person).where(Person.key == "police"))
        board = session.scalar(select(Group.id).where(Group.slug == "board"))
        assert uninvite(session, people=[police], group_id=board, now=clock.now()) == 1
        assert uninvite(session, people=[police], group_id=board, now=clock.now()) == 0  # once
        june_uid = session.scalar(select(Meeting.uid).where(Meeting.starts_at == JUNE))
    [cancel] = [d for d in queued(demo) if d.key.startswith("uninvite:")]
    assert cancel.key.startswith(f"uninvite:{june_uid}:0:police:")
    assert cancel.target == "sarah.mellor@example.org"
    assert cancel.payload["subject"] == (
        "Taken out of your calendar: Chorley Public Service Reform Board, Tue 16 Jun 2015 16:00"
    )
    assert cancel.payload["text"].startswith(
        "Dear Sarah Mellor,\n\nYou are no longer a member of the Chorley Public Service Reform Board, "
        "so its meeting below is taken out of your calendar. The meeting itself goes ahead.\n\n"
        "When: Tue 16 Jun 2015, 16:00 to 17:30 (Europe/London time)"
    )
    assert "/apologies" not in cancel.payload["text"]
    cal = icalendar.Calendar.from_ical(cancel.payload["ics"])
    assert cal["method"] == "CANCEL"
    [event] = cal.walk("VEVENT")
    assert (str(event["uid"]), event["sequence"]) == (june_uid, 0)
    assert "status" not in event  # the meeting goes ahead: only this attendee is uninvited
    assert [str(a) for a in [event["attendee"]]] == ["mailto:sarah.mellor@example.org"]


def test_someone_never_invited_or_without_an_address_is_sent_nothing(demo, clock, leave):
    invite(demo, clock, starts=JUNE)
    leave("police")
    with demo() as session, session.begin():
        board = session.scalar(select(Group.id).where(Group.slug == "board"))
        fire, police = (session.scalar(select(Person).where(Person.key == key)) for key in ("fire", "police"))
        executive = session.scalar(select(Group.id).where(Group.slug == "executive"))
        assert uninvite(session, people=[fire], group_id=board, now=clock.now()) == 0  # no e-mail
        assert uninvite(session, people=[police], group_id=executive, now=clock.now()) == 0


def test_someone_put_in_the_board_is_sent_the_invitations_its_members_were_sent(demo, clock):
    invite(demo, clock, starts=JUNE)  # June's Board sent out; April's and September's never
    data = read_file(DEMO_FILE)
    data["groups"][0]["members"].append({"person": "inspector", "role": "member"})
    with demo() as session, session.begin():
        result = load(session, data, now=clock.now())
        [(person_id, board)] = result.into_groups
        inspector = session.get_one(Person, person_id)
        assert invite_newcomers(session, people=[inspector], group_id=board, now=clock.now()) == 1
        june_uid = session.scalar(select(Meeting.uid).where(Meeting.starts_at == JUNE))
    [joined] = [d for d in queued(demo) if d.target == "gareth.lowe@example.org"]
    assert joined.key.startswith(f"request:{june_uid}:0:inspector:")
    assert (
        joined.payload["subject"] == "Invitation: Chorley Public Service Reform Board, Tue 16 Jun 2015 16:00"
    )
    assert joined.payload["text"].startswith(
        "Dear Gareth Lowe,\n\nYou are now a member of the Chorley Public Service Reform Board, so you are "
        "invited to its meeting below.\n"
    )
    [event] = icalendar.Calendar.from_ical(joined.payload["ics"]).walk("VEVENT")
    assert (str(event["uid"]), event["sequence"], event["status"]) == (june_uid, 0, "CONFIRMED")
    attendees = {str(a) for a in event["attendee"]}
    assert "mailto:gareth.lowe@example.org" in attendees and len(attendees) == 17
