"""A member subscribes to the board's meetings: what their calendar app gets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import pytest
import vobject
from sqlalchemy import select

from services import calendar
from storage.models import AgendaItem, Group, Meeting, Person
from storage.partnership_file import load, read_file
from tests.calendar.conftest import change_meeting, events, feed_path, fetch
from tests.conftest import DEMO_FILE, LONDON
from tests.statements import counting

BOARD = "Chorley Public Service Reform Board"
APRIL = datetime(2015, 4, 21, 16, 0, tzinfo=LONDON)
FEBRUARY = datetime(2015, 2, 10, 16, 0, tzinfo=LONDON)


@pytest.fixture
def my_feed(type_calendar):
    """The clerk's personal feed path, as /calendar shows it."""
    return feed_path(type_calendar("/calendar").text)


def test_a_summer_and_a_winter_board_at_four_are_at_three_and_four_utc(web, my_feed):
    response = fetch(web, my_feed)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    found = events(response.content)
    assert found[f"{BOARD} 2015-04-21 16:00"].decoded("dtstart").astimezone(UTC) == datetime(
        2015, 4, 21, 15, 0, tzinfo=UTC
    )
    assert found[f"{BOARD} 2015-02-10 16:00"].decoded("dtstart").astimezone(UTC) == datetime(
        2015, 2, 10, 16, 0, tzinfo=UTC
    )
    assert found[f"{BOARD} 2015-04-21 16:00"].decoded("dtend").astimezone(UTC) == datetime(
        2015, 4, 21, 16, 30, tzinfo=UTC
    )
    assert b"DTSTART;TZID=Europe/London:20150421T160000" in response.content


def test_a_second_parser_reads_the_same_times_through_the_vtimezone(web, my_feed):
    body = fetch(web, my_feed).text
    parsed = vobject.readOne(body)
    starts = {
        (e.summary.value, e.dtstart.value.astimezone(UTC))
        for e in parsed.vevent_list
        if e.summary.value == BOARD
    }
    assert (BOARD, datetime(2015, 4, 21, 15, 0, tzinfo=UTC)) in starts
    assert (BOARD, datetime(2015, 2, 10, 16, 0, tzinfo=UTC)) in starts
    # vobject built the zone from our VTIMEZONE, not from its own database.
    assert parsed.vtimezone.tzid.value == "Europe/London"
    tz = parsed.vtimezone.gettzinfo()
    assert datetime(2015, 7, 1, 12, 0, tzinfo=tz).utcoffset().total_seconds() == 3600
    assert datetime(2015, 12, 1, 12, 0, tzinfo=tz).utcoffset().total_seconds() == 0


def test_every_event_has_what_rfc_5545_and_calendar_apps_need(web, my_feed, demo):
    body = fetch(web, my_feed).content
    cal = icalendar.Calendar.from_ical(body)
    assert cal["version"] == "2.0" and cal["prodid"]
    assert "method" not in cal  # a published feed, not an iTIP message
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    with demo() as session:
        uids = set(session.scalars(select(Meeting.uid)))
    board = [e for e in cal.walk("VEVENT") if str(e["summary"]) == BOARD]
    assert len(board) == 6
    for vevent in cal.walk("VEVENT"):
        for name in (
            "uid",
            "dtstamp",
            "last-modified",
            "dtstart",
            "dtend",
            "summary",
            "description",
            "status",
        ):
            assert name in vevent, (name, vevent["summary"])
    for vevent in board:
        assert str(vevent["uid"]) in uids
        assert vevent["sequence"] == 0
        assert vevent["status"] == "CONFIRMED"
        assert vevent["dtstart"].params["TZID"] == "Europe/London"
    april = events(body)[f"{BOARD} 2015-04-21 16:00"]
    assert str(april["location"]) == "Committee Room 1"
    online = events(body)["Implementation Group 2015-07-08 14:00"]
    # Its link where calendars show the place, not the group's usual room.
    assert str(online["url"]) == str(online["location"]) == "https://meet.example.org/cpsig-2015-07"


def test_the_description_is_the_agenda_with_restricted_items_masked(web, my_feed, demo, clock):
    with demo() as session, session.begin():
        meeting = session.scalar(select(Meeting).where(Meeting.starts_at == APRIL))
        clerk = session.scalar(select(Person).where(Person.key == "clerk"))
        for position, (title, restricted) in enumerate(
            [("Locality plan for Chorley town centre", False), ("Sale of the Market Walk site", True)],
            start=1,
        ):
            session.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    position=position,
                    title=title,
                    restricted=restricted,
                    restricted_paragraph=3 if restricted else None,
                    submitted_by_id=clerk.id,
                    created_at=clock.now(),
                )
            )
    body = fetch(web, my_feed).content
    text = str(events(body)[f"{BOARD} 2015-04-21 16:00"]["description"])
    assert "• Locality plan for Chorley town centre" in text
    assert "• Restricted item" in text
    assert "Market Walk" not in body.decode()
    assert "/apologies" in text


def test_a_move_raises_the_sequence_and_moves_the_event(web, my_feed, demo, clock):
    clock.set(datetime(2015, 4, 14, 10, 0, tzinfo=LONDON))
    moved = change_meeting(
        demo, clock, group="board", starts=APRIL, starts_at=datetime(2015, 4, 28, 16, 0, tzinfo=LONDON)
    )
    found = events(fetch(web, my_feed).content)
    assert f"{BOARD} 2015-04-21 16:00" not in found
    event_ = found[f"{BOARD} 2015-04-28 16:00"]
    assert str(event_["uid"]) == moved.uid
    assert event_["sequence"] == 1
    assert event_.decoded("last-modified") == datetime(2015, 4, 14, 9, 0, tzinfo=UTC)


def test_a_cancelled_meeting_stays_in_the_feed_marked_cancelled(web, my_feed, demo, clock):
    change_meeting(demo, clock, group="board", starts=APRIL, status="cancelled")
    event_ = events(fetch(web, my_feed).content)[f"{BOARD} 2015-04-21 16:00"]
    assert event_["status"] == "CANCELLED"
    assert "This meeting is cancelled." in str(event_["description"])
    assert "/apologies" not in str(event_["description"])


def test_action_due_dates_come_as_all_day_events_only_when_asked(web, type_calendar):
    path = feed_path(type_calendar("/calendar").text)
    assert not [k for k in events(fetch(web, path).content) if k.startswith("Action ")]
    assert feed_path(type_calendar("/calendar actions").text) == path  # the same link
    found = events(fetch(web, path).content)
    due = found["Action A1 due: Circulate Away Day outcomes 2015-02-17"]
    assert due.decoded("dtstart") == date(2015, 2, 17) and due.decoded("dtend") == date(2015, 2, 18)
    assert due["transp"] == "TRANSPARENT"
    assert "Action A4 due" not in " ".join(found)  # done actions and other people's are left out
    assert not [k for k in found if "Working Group updates" in k]  # a free-text owner's
    type_calendar("/calendar meetings")
    assert not [k for k in events(fetch(web, path).content) if k.startswith("Action ")]


def test_a_group_feed_holds_only_that_group_s_meetings(web, type_calendar):
    path = feed_path(type_calendar("/calendar group", channel="CBOARD001").text)
    found = events(fetch(web, path).content)
    assert len(found) == 6 and all(name.startswith(BOARD) for name in found)


def test_a_conditional_request_gets_304_until_something_changes(web, my_feed, demo, clock):
    first = fetch(web, my_feed)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert modified == "Mon, 13 Apr 2015 08:00:00 GMT"
    again = fetch(web, my_feed, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert fetch(web, my_feed, **{"If-Modified-Since": modified}).status_code == 304
    assert fetch(web, my_feed, **{"If-None-Match": '"something-else"'}).status_code == 200
    assert fetch(web, my_feed, **{"If-Modified-Since": "Sun, 12 Apr 2015 08:00:00 GMT"}).status_code == 200
    assert fetch(web, my_feed, **{"If-Modified-Since": "not a date"}).status_code == 200

    clock.set(datetime(2015, 4, 14, 10, 0, tzinfo=LONDON))
    change_meeting(demo, clock, group="board", starts=APRIL, location="Council Chamber")
    changed = fetch(web, my_feed, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.headers["last-modified"] == "Tue, 14 Apr 2015 09:00:00 GMT"
    assert fetch(web, my_feed, **{"If-Modified-Since": modified}).status_code == 200


def test_a_new_agenda_item_changes_the_etag(web, my_feed, demo, clock):
    etag = fetch(web, my_feed).headers["etag"]
    with demo() as session, session.begin():
        meeting = session.scalar(select(Meeting).where(Meeting.starts_at == APRIL))
        session.add(AgendaItem(meeting_id=meeting.id, position=1, title="Budget", created_at=clock.now()))
    assert fetch(web, my_feed, **{"If-None-Match": etag}).status_code == 200


def test_joining_a_group_changes_the_personal_feed(web, type_calendar, demo, clock):
    path = feed_path(type_calendar("/calendar", person="chair").text)
    etag = fetch(web, path).headers["etag"]
    from storage.models import Membership, PartnershipLoad

    with demo() as session, session.begin():
        chair = session.scalar(select(Person).where(Person.key == "chair"))
        executive = session.scalar(select(Group).where(Group.slug == "executive"))
        session.add(Membership(group_id=executive.id, person_id=chair.id, role="member"))
        session.add(PartnershipLoad(version="chair-joined", loaded_at=clock.now()))  # as a load does
    assert fetch(web, path, **{"If-None-Match": etag}).status_code == 200


def test_a_group_renamed_in_the_partnership_file_shows_at_once(web, my_feed, demo, clock):
    first = fetch(web, my_feed)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    data = read_file(DEMO_FILE)
    board = next(group for group in data["groups"] if group["slug"] == "board")
    board["name"] = "Chorley Reform Board"
    clock.set(datetime(2015, 4, 14, 10, 0, tzinfo=LONDON))
    with demo() as session, session.begin():
        assert load(session, data, now=clock.now()).updated == {"group": 1}

    changed = fetch(web, my_feed, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "Chorley Reform Board 2015-04-21 16:00" in events(changed.content)
    assert changed.headers["last-modified"] == "Tue, 14 Apr 2015 09:00:00 GMT"
    assert fetch(web, my_feed, **{"If-Modified-Since": modified}).status_code == 200
    assert fetch(web, my_feed, **{"If-None-Match": changed.headers["etag"]}).status_code == 304

    with demo() as session, session.begin():  # the same file again changes nothing
        assert not load(session, data, now=clock.now()).changed
    assert fetch(web, my_feed, **{"If-None-Match": changed.headers["etag"]}).status_code == 304


def test_the_feed_is_never_gzip_encoded(web, my_feed):
    response = fetch(web, my_feed, **{"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/" + "a" * 64 + ".ics",  # the shape of a token, but none issued
        "/calendar/short.ics",
        "/calendar/" + "x" * 5000 + ".ics",
        "/calendar/..%2F..%2Fetc%2Fpasswd.ics",
        "/calendar/%00.ics",
        "/calendar/.ics",
        "/calendar/",
        "/calendar/" + "a" * 64,
        "/calendar/" + "a" * 64 + ".ics/more",
    ],
)
def test_an_unknown_token_gets_a_bare_404(web, my_feed, path):
    response = fetch(web, path)
    assert response.status_code == 404
    assert response.content == b""
    assert "etag" not in response.headers and "last-modified" not in response.headers


def test_a_revoked_token_gets_404_and_the_new_one_works(web, type_calendar, my_feed):
    assert fetch(web, my_feed).status_code == 200
    new = feed_path(type_calendar("/calendar reset").text)
    assert new != my_feed
    old = fetch(web, my_feed)
    assert old.status_code == 404 and old.content == b""
    assert fetch(web, my_feed, **{"If-None-Match": "*"}).status_code == 404
    assert fetch(web, new).status_code == 200


def test_the_feed_of_someone_who_has_left_gets_404_until_they_are_back(
    web, type_calendar, leave, demo, clock
):
    """Left, they belong to no group; their feed would still show their actions."""
    feed = feed_path(type_calendar("/calendar", person="fire").text)
    group = feed_path(type_calendar("/calendar group", person="fire", channel="CBOARD001").text)
    assert fetch(web, feed).status_code == 200
    leave("fire")
    gone = fetch(web, feed)
    assert gone.status_code == 404 and gone.content == b""
    assert fetch(web, group).status_code == 200  # the Board's, until an officer resets it
    with demo.begin() as session:  # back in the file
        load(session, read_file(DEMO_FILE), now=clock.now())
    assert fetch(web, feed).status_code == 200


def test_a_feed_takes_the_same_few_queries_for_ten_meetings_as_for_forty(demo, engine, my_feed, clock):
    from services import feed_tokens

    token = my_feed.removeprefix("/calendar/").removesuffix(".ics")

    def statements() -> int:
        with counting(engine) as seen, demo() as session:
            row = feed_tokens.find(session, token)
            calendar.validator(session, row)
            calendar.build_feed(session, row)
        return len(seen)

    before = statements()
    with demo() as session, session.begin():
        board = session.scalar(select(Group).where(Group.slug == "board"))
        for week in range(30):
            starts = datetime(2017, 1, 3, 16, 0, tzinfo=LONDON) + (week * (APRIL - APRIL.replace(day=14)))
            session.add(
                Meeting(
                    group_id=board.id,
                    starts_at=starts,
                    ends_at=starts.replace(hour=17),
                    uid=f"extra-{week}@partnerbot",
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
    assert statements() == before <= 8


def test_a_head_request_gets_the_validators_without_the_body(web, my_feed):
    import asyncio

    import httpx

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://x") as client:
            return await client.head(my_feed)

    response = asyncio.run(go())
    assert response.status_code == 200 and response.content == b""
    assert response.headers["etag"] and response.headers["content-type"] == "text/calendar; charset=utf-8"


def test_an_agenda_title_cannot_inject_events_into_the_feed(web, my_feed, demo, clock):
    before = len(events(fetch(web, my_feed).content))
    with demo() as session, session.begin():
        meeting = session.scalar(select(Meeting).where(Meeting.starts_at == APRIL))
        session.add(
            AgendaItem(
                meeting_id=meeting.id,
                position=1,
                title="Budget; rates, reserves\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Injected\\n",
                created_at=clock.now(),
            )
        )
    body = fetch(web, my_feed).content
    found = events(body)
    assert len(found) == before and not [k for k in found if k.startswith("Injected")]
    assert "• Budget; rates, reserves\nEND:VEVENT" in str(found[f"{BOARD} 2015-04-21 16:00"]["description"])
    assert len(vobject.readOne(body.decode()).vevent_list) == before
