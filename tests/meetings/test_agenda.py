"""The agenda: the board's own order, deadlines in Chorley's time, restricted items
masked for all but the officers, publication flagged when late."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from services import outbox
from services.meetings import Deadlines
from storage.models import AuditEntry, Delivery, Group, Meeting
from storage.session import transaction
from tests.conftest import count_rows

LONDON = ZoneInfo("Europe/London")
BOARD = "CBOARD001"


def test_the_draft_agenda_follows_the_boards_order(type_command):
    type_command("/agenda add Locality plan -- for decision", channel=BOARD)
    text = type_command("/agenda", person="fire", channel=BOARD).text
    assert text.splitlines() == [
        "*Draft agenda: Chorley Public Service Reform Board, Tue 21 Apr 2015, 16:00–17:30, Committee Room 1*",
        "Items due by Sat 11 Apr 2015 (passed); to be published by Thu 16 Apr 2015.",
        "1. Welcome and apologies for absence",
        "2. Minutes — _To confirm the minutes of the Chorley Public Service Reform Board held on Tue 10 Feb 2015 as a correct record_",
        "2a. Matters arising",
        "3. Locality plan — _for decision — Jess Marland_",
        "4. Any other business",
        "5. Date of next meeting — _Tue 16 Jun 2015 at 16:00_",
    ]


def test_a_member_adds_before_the_deadline_and_is_refused_after_it(type_command, demo, clock):
    clock.set(datetime(2015, 6, 6, 23, 59, tzinfo=LONDON))  # board on Tue 16 Jun: items due Sat 6 Jun
    added = type_command("/agenda add Fire safety checks -- for information", person="fire", channel=BOARD)
    assert added.ok and added.text == (
        "Item 3 added to the Chorley Public Service Reform Board agenda for Tue 16 Jun 2015: Fire safety checks."
    )
    clock.set(datetime(2015, 6, 7, 0, 1, tzinfo=LONDON))
    before = count_rows(demo)
    late = type_command("/agenda add Another", person="fire", channel=BOARD)
    assert not late.ok
    assert "were due by Sat 6 Jun 2015" in late.text
    assert (
        "ask an officer or the chair (Jess Marland, Nadia Hartley, Rosalind Ashcroft) to add it" in late.text
    )
    assert count_rows(demo) == before
    officer = type_command("/agenda add Another", person="clerk", channel=BOARD)
    assert officer.ok and "after the item deadline of Sat 6 Jun 2015: added as an officer" in officer.text


def test_outside_a_channel_someone_of_several_groups_is_told_how_to_reach_another_s_agenda(
    type_command, demo, clock
):
    # Fire's next meetings: the Executive on Thu 4 Jun 2015 (items due Mon 25 May), the
    # Implementation Group on Wed 10 Jun, the board on Tue 16 Jun (items due Sat 6 Jun).
    hint = "For another of your groups, type `/agenda add` in its channel."
    clock.set(datetime(2015, 5, 20, 12, 0, tzinfo=LONDON))
    added = type_command("/agenda add Fire safety checks", person="fire")
    assert added.ok and added.text == (
        "Item 3 added to the Chorley Public Service Reform Executive agenda for Thu 4 Jun 2015: "
        f"Fire safety checks. {hint}"
    )
    clock.set(datetime(2015, 5, 26, 12, 0, tzinfo=LONDON))
    before = count_rows(demo)
    late = type_command("/agenda add Youth diversion", person="fire")
    assert not late.ok and "Executive meeting on Thu 4 Jun 2015 were due by Mon 25 May 2015" in late.text
    assert late.text.endswith(f"Nothing was changed. {hint}")
    assert count_rows(demo) == before
    in_board = type_command("/agenda add Youth diversion", person="fire", channel=BOARD)
    assert in_board.ok and hint not in in_board.text
    assert hint not in type_command("/agenda add Smoking cessation", person="health").text  # the board alone


def test_outside_a_channel_an_officer_of_several_groups_is_asked_which_agenda_to_change(
    type_command, demo, clock
):
    before = count_rows(demo)
    for line in ("/agenda publish", "/agenda remove 3"):
        refused = type_command(line)  # the clerk: an officer of all three groups
        assert not refused.ok and refused.text == (
            "You are an officer of several groups: type the command in the group's channel "
            "(#board, #executive, #implementation) to say which. Nothing was changed."
        )
    assert count_rows(demo) == before
    # An officer of one group needs no channel.
    published = type_command("/agenda publish", person="programme")
    assert published.ok and published.text.startswith(
        "Agenda of the Implementation Group meeting on Wed 13 May"
    )


@pytest.mark.parametrize(
    ("meeting_day", "last_in", "first_out", "items_due", "publish_by"),
    [
        # Spring forward (Sun 29 Mar 2015): a meeting on Tue 31 Mar, items due Sat 21 Mar (GMT).
        (
            "2015-03-31",
            datetime(2015, 3, 21, 23, 59),
            datetime(2015, 3, 22, 0, 0),
            date(2015, 3, 21),
            date(2015, 3, 26),
        ),
        # Fall back (Sun 25 Oct 2015): a meeting on Tue 3 Nov, items due Sat 24 Oct (BST, UTC+1).
        (
            "2015-11-03",
            datetime(2015, 10, 24, 23, 59),
            datetime(2015, 10, 25, 0, 30),
            date(2015, 10, 24),
            date(2015, 10, 29),
        ),
        # A month boundary: a meeting on Tue 5 May, items due Sat 25 Apr, published by Thu 30 Apr.
        (
            "2015-05-05",
            datetime(2015, 4, 25, 23, 59),
            datetime(2015, 4, 26, 0, 0),
            date(2015, 4, 25),
            date(2015, 4, 30),
        ),
    ],
)
def test_deadlines_are_local_days_across_clock_changes_and_months(
    type_command, demo, clock, meeting_day, last_in, first_out, items_due, publish_by
):
    clock.set(datetime(2015, 3, 1, 9, 0, tzinfo=LONDON))
    day = date.fromisoformat(meeting_day)
    assert type_command(f"/meeting add {day.strftime('%d/%m/%Y')}", channel=BOARD).ok
    with demo() as session:
        meeting = session.scalar(
            select(Meeting).where(
                Meeting.starts_at == datetime(day.year, day.month, day.day, 16, 0, tzinfo=LONDON)
            )
        )
        assert Deadlines.of(meeting, LONDON) == Deadlines(items_due=items_due, publish_by=publish_by)
    clock.set(last_in.replace(tzinfo=LONDON))
    assert type_command("/agenda add Just in time", person="fire", channel=BOARD).ok
    clock.set(first_out.replace(tzinfo=LONDON))
    refused = type_command("/agenda add Too late", person="fire", channel=BOARD)
    assert not refused.ok and "were due by" in refused.text
    clock.set(datetime.combine(publish_by, time(23, 59), LONDON))
    on_time = type_command("/agenda publish", channel=BOARD)
    assert on_time.ok and "Late" not in on_time.text
    clock.set(datetime.combine(publish_by + timedelta(days=1), time(0, 1), LONDON))
    assert type_command("/agenda add A paper come late", channel=BOARD).ok  # an officer may
    revised = type_command("/agenda publish", channel=BOARD)  # judged by when it first went out
    assert revised.ok and "Revised agenda" in revised.text and "Late" not in revised.text
    with transaction(demo) as session:  # as if it had not gone out on time
        session.execute(update(Meeting).values(agenda_published_at=None, agenda_revision=0))
        session.execute(delete(Delivery).where(Delivery.key.startswith("agenda-published:")))
    late = type_command("/agenda publish", channel=BOARD)
    assert late.ok and late.text.endswith("Late: the terms of reference ask for five days.")


def test_restricted_items_are_masked_for_all_but_the_officers(type_command, board_post_texts):
    reply = type_command("/agenda add restricted para 3 Disposal of the Union Street depot", channel=BOARD)
    assert reply.ok
    assert (
        "Disposal of the Union Street depot (Restricted item: paragraph 3 of Part 1 of Schedule 12A)"
        in reply.text
    )
    officer = type_command("/agenda", channel=BOARD).text
    assert (
        "3. Disposal of the Union Street depot (Restricted item: paragraph 3 of Part 1 of Schedule 12A)"
        in officer
    )
    member = type_command("/agenda", person="fire", channel=BOARD).text
    assert "3. Restricted item\n" in member and "Union Street" not in member and "paragraph" not in member
    assert type_command("/agenda publish", channel=BOARD).ok
    posted = board_post_texts()[-1]
    assert "3. Restricted item\n" in posted and "Union Street" not in posted and "paragraph" not in posted


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("add restricted para x Depot", "'para x' is not a paragraph number"),
        ("add restricted para 9 Depot", "paragraph 1 to 7"),
        ("add", "What is the item called?"),
        ("add -- for decision", "What is the item called?"),
        ("add " + "x" * 400, "at most 300 characters"),
        (
            "remove 9",
            "'9' is not a submitted item of the Chorley Public Service Reform Board agenda for Tue 21 Apr 2015: "
            "it has none yet",
        ),
        ("remove 1", "is not a submitted item"),
        ("publish now", "takes nothing after it"),
        ("frobnicate", "I don't know `/agenda frobnicate`"),
        ("show 21 Apr", "`/agenda` shows the next meeting's agenda and takes nothing after it"),
    ],
)
def test_bad_agenda_commands_are_refused_and_nothing_is_stored(type_command, demo, text, says):
    before = count_rows(demo)
    reply = type_command(f"/agenda {text}", channel=BOARD)
    assert not reply.ok and says in reply.text, reply.text
    assert count_rows(demo) == before


def test_an_item_already_on_the_agenda_is_not_added_twice(type_command, demo, clock):
    clock.set(datetime(2015, 6, 1, 9, 0, tzinfo=LONDON))
    assert type_command("/agenda add Fire safety -- for information", person="fire", channel=BOARD).ok
    before = count_rows(demo)
    again = type_command("/agenda add  fire SAFETY -- to note", person="health", channel=BOARD)
    assert again.text == (
        "Item 3 of the Chorley Public Service Reform Board agenda for Tue 16 Jun 2015 is already "
        "'Fire safety' (`/agenda` shows it). Nothing was changed."
    )
    assert count_rows(demo) == before


def test_a_restricted_item_s_title_is_not_told_by_refusing_the_same_one(type_command, demo, clock):
    clock.set(datetime(2015, 6, 1, 9, 0, tzinfo=LONDON))
    assert type_command("/agenda add restricted para 3 Sale of the depot", person="fire", channel=BOARD).ok
    # A member who cannot see it adds an item of that title; its submitter and an officer are refused.
    assert type_command("/agenda add Sale of the depot", person="health", channel=BOARD).ok
    for person in ("fire", "clerk"):
        refused = type_command("/agenda add Sale of the depot", person=person, channel=BOARD)
        assert refused.text.startswith("Item 3 of the"), refused.text


def test_removing_items_and_who_may(type_command, demo, clock):
    clock.set(datetime(2015, 6, 1, 9, 0, tzinfo=LONDON))
    type_command("/agenda add Fire safety", person="fire", channel=BOARD)
    type_command("/agenda add Health inequalities", person="health", channel=BOARD)
    before = count_rows(demo)
    beyond = type_command("/agenda remove 5", channel=BOARD)
    assert not beyond.ok and "agenda for Tue 16 Jun 2015: those are items 3 to 4" in beyond.text
    refused = type_command("/agenda remove 4", person="fire", channel=BOARD)
    assert not refused.ok and "Only the officers and the chair" in refused.text
    which = type_command("/agenda remove", channel=BOARD)
    assert not which.ok and which.text.startswith("Which item? Give its number as `/agenda` shows it")
    assert count_rows(demo) == before
    assert type_command("/agenda remove 3", person="fire", channel=BOARD).ok  # their own
    assert "3. Health inequalities" in type_command("/agenda", channel=BOARD).text
    assert type_command("/agenda remove 3", channel=BOARD).ok  # an officer, anyone's
    with demo() as session:
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.what == "agenda.remove")).all()) == 2
    # Once the agenda has gone out, taking an item off is an officer's decision, even its own.
    type_command("/agenda add Fire cover", person="fire", channel=BOARD)
    assert type_command("/agenda publish", channel=BOARD).ok
    before = count_rows(demo)
    published = type_command("/agenda remove 3", person="fire", channel=BOARD)
    assert not published.ok and published.text == (
        "Only the officers and the chair of the Chorley Public Service Reform Board take items off an "
        "agenda once it has gone out (Jess Marland, Nadia Hartley, Rosalind Ashcroft): ask one of them. "
        "Nothing was changed."
    )
    assert count_rows(demo) == before


def test_a_member_removes_their_own_item_outside_a_channel_from_where_it_was_added(type_command, clock):
    clock.set(datetime(2015, 5, 18, 9, 0, tzinfo=LONDON))
    # Outside a channel, a member's own item is where `/agenda add` put it: their next meeting.
    assert type_command("/agenda add Fire cover", person="fire").text.startswith(
        "Item 3 added to the Chorley Public Service Reform Executive agenda for Thu 4 Jun 2015"
    )
    elsewhere = type_command("/agenda remove 4", person="fire")
    assert not elsewhere.ok and elsewhere.text == (
        "'4' is not a submitted item of the Chorley Public Service Reform Executive agenda for Thu 4 Jun 2015: "
        "the only one is item 3 (`/agenda` shows them). Nothing was changed. For another of your groups, "
        "type `/agenda remove` in its channel."
    )
    assert type_command("/agenda remove 3", person="fire").text.startswith(
        "Item 3 (Fire cover) removed from the Chorley Public Service Reform Executive agenda."
    )


def test_only_officers_publish_and_publishing_records_the_time(type_command, demo, clock, board_post_texts):
    before = count_rows(demo)
    refused = type_command("/agenda publish", person="fire", channel=BOARD)
    assert (
        not refused.ok
        and "Only the officers and the chair of the Chorley Public Service Reform Board publish agendas"
        in refused.text
    )
    assert count_rows(demo) == before
    reply = type_command("/agenda publish", channel=BOARD)
    assert (
        reply.ok and "published and posted to the group's channel" in reply.text and "Late" not in reply.text
    )
    assert board_post_texts()[-1].startswith("*Agenda: Chorley Public Service Reform Board, Tue 21 Apr 2015")
    with demo() as session:
        meeting = session.scalar(select(Meeting).where(Meeting.agenda_published_at.is_not(None)))
        assert meeting.agenda_published_at == clock.now()
    assert "Published Mon 13 Apr 2015." in type_command("/agenda", person="fire", channel=BOARD).text


def test_publishing_again_posts_the_revised_agenda_and_keeps_when_it_first_went_out(
    type_command, demo, clock, board_post_texts
):
    assert type_command("/agenda publish", channel=BOARD).ok
    added = type_command("/agenda add Locality plan -- for decision", channel=BOARD)
    assert added.text.endswith(
        "The agenda was published on Mon 13 Apr 2015: `/agenda publish` (officers) posts the revised one."
    )
    clock.set(datetime(2015, 4, 17, 9, tzinfo=LONDON))  # after the publication deadline of Thu 16 Apr
    reply = type_command("/agenda publish", channel=BOARD)
    assert reply.text == (
        "Revised agenda of the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015 posted to the "
        "group's channel (first published Mon 13 Apr 2015)."
    )
    posts = board_post_texts()
    assert len(posts) == 2 and posts[0].startswith("*Agenda: Chorley")
    assert posts[1].startswith("*Revised agenda: Chorley") and "3. Locality plan" in posts[1]
    removed = type_command("/agenda remove 3", channel=BOARD)
    assert removed.ok and "posts the revised one" in removed.text
    assert type_command("/agenda publish", channel=BOARD).ok
    assert len(board_post_texts()) == 3  # each revision posted, once
    assert "Published Mon 13 Apr 2015." in type_command("/agenda", person="fire", channel=BOARD).text
    with demo() as session:
        meeting = session.scalar(select(Meeting).where(Meeting.agenda_published_at.is_not(None)))
        assert meeting.agenda_revision == 2
        assert meeting.agenda_published_at == datetime(2015, 4, 13, 9, tzinfo=LONDON)


def test_a_second_officer_publishing_an_agenda_unchanged_since_is_told_who_sent_it(
    type_command, demo, clock, board_post_texts
):
    assert type_command("/agenda publish", channel=BOARD).ok  # the clerk, at 09:00
    clock.set(datetime(2015, 4, 13, 9, 40, tzinfo=LONDON))
    before = count_rows(demo)
    again = type_command("/agenda publish", person="policy", channel=BOARD)  # the other officer's reminder
    assert not again.ok
    assert again.text == (
        "The agenda of the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015 has been on its way to "
        "the group's channel since Mon 13 Apr 2015 at 09:00 (by Jess Marland), and nothing on it has changed "
        "since, so it was not posted again. Nothing was changed."
    )
    assert count_rows(demo) == before and len(board_post_texts()) == 1
    with transaction(demo) as session:
        session.execute(update(Delivery).values(status="sent"))
    sent = type_command("/agenda publish", person="policy", channel=BOARD)
    assert (
        not sent.ok and "Tue 21 Apr 2015 went to the group's channel on Mon 13 Apr 2015 at 09:00" in sent.text
    )

    assert type_command("/agenda add Locality plan", person="policy", channel=BOARD).ok
    revised = type_command("/agenda publish", person="policy", channel=BOARD)
    assert revised.ok and revised.text.startswith("Revised agenda"), revised.text
    clock.set(datetime(2015, 4, 13, 10, 5, tzinfo=LONDON))
    twice = type_command("/agenda publish", channel=BOARD)
    assert not twice.ok and "since Mon 13 Apr 2015 at 09:40 (by Nadia Hartley)" in twice.text
    # A move changes what the agenda's heading says: published again, it is posted.
    assert type_command("/meeting move 21 Apr to 21 Apr 17:00", channel=BOARD).ok
    moved = type_command("/agenda publish", channel=BOARD)
    assert moved.ok
    posts = board_post_texts()  # the agenda, its revision, the move's notice, and this
    assert len(posts) == 4 and posts[-1].startswith(
        "*Revised agenda: Chorley Public Service Reform Board, Tue 21 Apr 2015, 17:00"
    )
    # One Slack refused for good may be published again, unchanged.
    with transaction(demo) as session:
        session.execute(
            update(Delivery).where(Delivery.key.startswith("agenda-published:")).values(status="failed")
        )
    assert type_command("/agenda publish", channel=BOARD).ok


def test_two_officers_publishing_at_the_same_moment_post_once_and_one_is_told_so(
    type_command, demo, clock, board_post_texts
):
    """The other officer's publication is being committed as this one is typed:
    this one waits for it, and is not told "published" of a post that will not go."""
    answered = []
    with demo() as other, other.begin():
        board = other.scalar(select(Group.id).where(Group.channel == BOARD))
        meeting = other.scalar(
            select(Meeting.id)
            .where(Meeting.group_id == board, Meeting.starts_at > clock.now())
            .order_by(Meeting.starts_at)
            .limit(1)
        )
        outbox.enqueue(
            other, key=f"agenda-published:{meeting}:0", kind="channel", target=BOARD,
            payload={"text": "*Agenda: ...*"}, due_at=clock.now(), now=clock.now(),
        )  # fmt: skip
        typing = threading.Thread(
            target=lambda: answered.append(type_command("/agenda publish", person="policy", channel=BOARD))
        )
        typing.start()
        sleep(0.5)  # it waits for the other's row (SQLite: for its write lock)
        assert not answered
    typing.join()
    [reply] = answered
    assert not reply.ok
    assert reply.text.startswith(
        "The agenda of the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015 has been on its way "
        "to the group's channel since Mon 13 Apr 2015 at 09:00"
    ), reply.text
    assert board_post_texts() == ["*Agenda: ...*"]
    with demo() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.what == "agenda.publish")) is None
        assert session.scalar(select(Meeting.agenda_published_at).where(Meeting.id == meeting)) is None


def test_the_agenda_read_with_its_meeting_is_the_one_read_afresh(type_command, demo, clock):
    """`/agenda` asks what the agenda shows with the meeting itself
    (`agenda.drafted`); rows that hold none of the meeting (another's, as a read
    outside a transaction may see) mean it is read afresh: the same lines."""
    from services import agenda, meetings
    from services.partnership import zone
    from storage.models import Group, Partnership
    from storage.session import transaction

    type_command("/agenda add Locality plan -- for decision", channel=BOARD)
    type_command("/agenda add restricted para 3 Asset disposal", channel=BOARD)
    with transaction(demo) as session:
        london = zone(session.scalars(select(Partnership)).one())
        board = session.scalars(select(Group).where(Group.channel == BOARD)).one()
        meeting, read = meetings.find_to_read_with(
            session,
            groups=[board],
            day=None,
            now=clock.now(),
            zone=london,
            about=agenda.drafted,
            parameters={},
        )
        afresh = agenda.draft(session, meeting=meeting, zone=london, officer=True)
        assert len(afresh) == 7
        assert agenda.draft(session, meeting=meeting, zone=london, officer=True, read=read) == afresh
        others = [row._replace(meeting_id=-1) for row in read]
        assert agenda.draft(session, meeting=meeting, zone=london, officer=True, read=others) == afresh
