"""/calendar: a member's own subscription link, shown the same every time, and reset when leaked."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.commands.calendar import invite_or_link
from bot.commands.core import Context, Site
from services import feed_tokens, partnership
from storage.models import AuditEntry, Delivery, FeedToken, Meeting, Membership, PartnershipLoad, Person
from tests.calendar.conftest import BASE_URL, SECRET, feed_path, fetch
from tests.conftest import LONDON, count_rows


def test_a_member_gets_webcal_and_https_links_to_their_own_feed(type_calendar):
    reply = type_calendar("/calendar", person="fire")
    assert reply.ok
    text = reply.text
    assert text.startswith(
        "*Your calendar* — every meeting of Chorley Public Service Reform Board, "
        "Chorley Public Service Reform Executive, Implementation Group."
    )
    path = feed_path(text)
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) == 64 and set(token) <= set("0123456789abcdef")
    assert f"Outlook or Apple Calendar: webcal://partnerbot.example.org{path}" in text
    assert f"Google Calendar (Other calendars → From URL) or anything else: {BASE_URL}{path}" in text
    assert "anyone with the link can see these meetings" in text
    assert "<" not in text and ">" not in text


def test_the_link_is_the_same_every_time_and_only_its_hash_is_stored(type_calendar, demo):
    first = feed_path(type_calendar("/calendar").text)
    again = feed_path(type_calendar("/calendar").text)
    assert first == again
    token = first.removeprefix("/calendar/").removesuffix(".ics")
    with demo() as session:
        rows = list(session.scalars(select(FeedToken)))
        assert len(rows) == 1
        stored = " ".join(str(v) for v in rows[0].__dict__.values())
        assert token not in stored
        audit = [
            e.what for e in session.scalars(select(AuditEntry).where(AuditEntry.what.like("calendar.%")))
        ]
    assert audit == ["calendar.issue"]


def test_the_link_works(type_calendar, web):
    assert fetch(web, feed_path(type_calendar("/calendar").text)).status_code == 200


def test_reset_revokes_the_old_link_and_shows_a_new_one(type_calendar, web, demo):
    old = feed_path(type_calendar("/calendar actions").text)
    reply = type_calendar("/calendar reset")
    assert reply.text.startswith("*Your calendar has a new link*: the old one has stopped working")
    new = feed_path(reply.text)
    assert new != old
    assert fetch(web, old).status_code == 404
    assert fetch(web, new).status_code == 200
    assert feed_path(type_calendar("/calendar").text) == new
    with demo() as session:
        rows = list(session.scalars(select(FeedToken).order_by(FeedToken.id)))
        assert [r.revoked_at is not None for r in rows] == [True, False]
        assert rows[1].with_actions  # the choice of actions carries over to the new link
        whats = list(
            session.scalars(
                select(AuditEntry.what).where(AuditEntry.what.like("calendar.%")).order_by(AuditEntry.id)
            )
        )
    assert whats == ["calendar.issue", "calendar.actions", "calendar.revoke", "calendar.issue"]


def test_actions_on_and_off_say_what_changed(type_calendar):
    assert "Your open actions' due dates are now in it" in type_calendar("/calendar actions").text
    assert "were already in it" in type_calendar("/calendar actions").text
    assert "and the due dates of your open actions" in type_calendar("/calendar").text
    assert "It now shows meetings only." in type_calendar("/calendar meetings").text
    assert "It already showed meetings only." in type_calendar("/calendar no actions").text


def test_a_changed_feed_secret_renews_the_link_rather_than_show_a_dead_one(type_calendar, web):
    old = feed_path(type_calendar("/calendar").text)
    rotated = Site(public_base_url=BASE_URL, feed_secret=b"another-secret-of-thirty-two-chars-or-more")
    reply = type_calendar("/calendar", site=rotated)
    assert "Your link has changed" in reply.text
    new = feed_path(reply.text)
    assert new != old and fetch(web, new).status_code == 200 and fetch(web, old).status_code == 404
    assert feed_path(type_calendar("/calendar", site=rotated).text) == new


def test_the_group_feed_in_a_group_channel(type_calendar, web):
    reply = type_calendar("/calendar group", person="fire", channel="CBOARD001")
    assert reply.text.startswith("*Chorley Public Service Reform Board* — its meetings only")
    assert reply.text.endswith(
        "\nThis is the group's own link, shared by its members: for just yours, use `/calendar`."
    )
    path = feed_path(reply.text)
    assert fetch(web, path).status_code == 200
    # Every member is shown the group's one link.
    assert feed_path(type_calendar("/calendar group", person="chair", channel="CBOARD001").text) == path


def test_meeting_next_shows_the_group_calendar_link_once_the_group_has_one(type_calendar, web, demo):
    before = count_rows(demo)
    first = type_calendar("/meeting next", person="fire", channel="CBOARD001")
    assert first.text.splitlines()[-1] == (
        "Calendar: `/calendar` gives you a link to every meeting of your groups"
    )
    assert count_rows(demo) == before  # only reads: no link issued here
    group = feed_path(type_calendar("/calendar group", person="fire", channel="CBOARD001").text)
    shown = type_calendar("/meeting next", person="fire", channel="CBOARD001").text.splitlines()[-1]
    assert shown == (f"Calendar: {BASE_URL}{group} (every Chorley Public Service Reform Board meeting)")
    assert fetch(web, group).status_code == 200
    # A link the server's secret no longer derives would not work: it is not shown.
    rotated = Site(public_base_url=BASE_URL, feed_secret=b"another-secret-of-thirty-two-chars-or-more")
    after = type_calendar("/meeting next", person="fire", channel="CBOARD001", site=rotated).text
    assert after.splitlines()[-1].startswith("Calendar: `/calendar` gives you a link")
    # Where no feeds are published, there is no calendar line at all.
    bare = type_calendar("/meeting next", person="fire", channel="CBOARD001", site=Site()).text
    assert "Calendar" not in bare


def test_meeting_list_points_to_the_calendar_for_the_rest_only_where_feeds_are_published(type_calendar):
    listed = type_calendar("/meeting list", person="fire").text.splitlines()[-1]
    assert listed == "…and more after Wed 12 Aug 2015: `/calendar` gives you a link to all of them."
    bare = type_calendar("/meeting list", person="fire", site=Site()).text.splitlines()[-1]
    assert bare == "…and more after Wed 12 Aug 2015."


def test_the_group_feeds_elsewhere_are_one_per_group_of_the_person(type_calendar):
    text = type_calendar("/calendar group", person="fire").text
    assert text.count("— its meetings only") == 3
    assert text.endswith(
        "\nThese are the groups' own links, shared by their members: for just yours, use `/calendar`."
    )


def test_a_non_member_gets_no_group_link(type_calendar, demo):
    before = count_rows(demo)
    reply = type_calendar("/calendar group", person="chair", channel="CEXEC0001")
    assert not reply.ok
    assert reply.text == (
        "Only members of the Chorley Public Service Reform Executive can have its calendar link: "
        "ask Graham Oldroyd, Jess Marland, Nadia Hartley. Nothing was changed."
    )
    assert count_rows(demo) == before


def test_an_officer_replaces_a_group_link_and_the_channel_is_told(type_calendar, web):
    old = feed_path(type_calendar("/calendar group", channel="CBOARD001").text)
    reply = type_calendar("/calendar group reset", person="clerk", channel="CBOARD001")
    assert reply.ok and reply.text.startswith(
        "*The Chorley Public Service Reform Board has a new calendar link*"
    )
    new = feed_path(reply.text)
    assert fetch(web, old).status_code == 404 and fetch(web, new).status_code == 200
    [post] = [p for p in reply.posts if p.kind == "channel"]
    assert post.target == "CBOARD001" and new in post.text
    assert post.text.startswith(
        "The calendar link of the Chorley Public Service Reform Board has been replaced"
    )


def test_a_member_may_not_replace_the_group_link(type_calendar, demo):
    type_calendar("/calendar group", channel="CBOARD001")
    before = count_rows(demo)
    reply = type_calendar("/calendar group reset", person="fire", channel="CBOARD001")
    assert not reply.ok
    assert reply.text == (
        "Only the officers and the chair of the Chorley Public Service Reform Board replace its calendar "
        "link (Jess Marland, Nadia Hartley, Rosalind Ashcroft): ask one of them. Nothing was changed."
    )
    assert count_rows(demo) == before


def test_reset_stops_every_link_two_racing_first_requests_issued(type_calendar, web, demo, clock):
    first = feed_path(type_calendar("/calendar").text)
    # What a second `/calendar` typed in the same instant issues on PostgreSQL:
    # each transaction saw no live token, so each issued one.
    with demo() as session, session.begin():
        clerk = session.scalar(select(Person).where(Person.key == "clerk"))
        racing = feed_tokens._issue(
            session, person=clerk, group=None, secret=SECRET, now=clock.now(), actor=clerk
        )
        second = f"/calendar/{racing.token}.ics"
    assert fetch(web, first).status_code == 200 and fetch(web, second).status_code == 200

    new = feed_path(type_calendar("/calendar reset").text)
    assert fetch(web, first).status_code == 404
    assert fetch(web, second).status_code == 404
    assert fetch(web, new).status_code == 200
    with demo() as session:
        live = session.scalars(select(FeedToken).where(FeedToken.revoked_at.is_(None))).all()
    assert len(live) == 1


def test_group_reset_outside_a_channel_asks_for_the_channel(type_calendar, demo):
    before = count_rows(demo)
    reply = type_calendar("/calendar group reset")
    assert not reply.ok and "in the group's own channel" in reply.text
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    "site, missing",
    [
        (Site(), "PUBLIC_BASE_URL"),
        (Site(public_base_url=BASE_URL), "FEED_SECRET"),
        (Site(feed_secret=SECRET), "PUBLIC_BASE_URL"),
    ],
)
def test_without_feeds_configured_the_reply_names_the_missing_setting(type_calendar, demo, site, missing):
    before = count_rows(demo)
    for line in ("/calendar", "/calendar reset", "/calendar group", "/calendar actions"):
        reply = type_calendar(line, site=site)
        assert not reply.ok
        assert reply.text.startswith("Calendar links are not set up on this partnerbot")
        assert missing in reply.text and reply.text.endswith("Nothing was changed.")
    assert count_rows(demo) == before


def test_someone_not_in_the_partnership_file_is_told_how_to_be_added(type_calendar, demo):
    before = count_rows(demo)
    reply = type_calendar("/calendar", person=None)
    assert not reply.ok and "ask an officer to add your Slack id" in reply.text
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    "text",
    [
        "everything",
        "reset now please",
        "group board",
        "<!channel> hello",
        "actions" * 600,
        "'; DROP TABLE feed_token; --",
    ],
)
def test_words_it_does_not_know_are_refused_with_the_accepted_forms(type_calendar, demo, text):
    before = count_rows(demo)
    reply = type_calendar(f"/calendar {text}")
    assert not reply.ok
    if len(text) > 4000:
        assert "a command takes at most 4,000" in reply.text
    else:
        assert reply.text.startswith("I don't know `/calendar ")
        assert "`/calendar reset`" in reply.text and reply.text.endswith("Nothing was changed.")
        assert len(reply.text) < 400
    assert count_rows(demo) == before


def test_help_gives_the_grammar_with_an_example(type_calendar):
    text = type_calendar("/calendar help").text
    for form in ("`/calendar`", "`/calendar actions`", "`/calendar reset`", "`/calendar group`"):
        assert form in text
    assert "e.g." in text


def _board_meeting(session):
    return session.scalar(
        select(Meeting).where(Meeting.starts_at == datetime(2015, 4, 21, 16, 0, tzinfo=LONDON))
    )


@pytest.mark.parametrize(
    "site, line, emails",
    [
        (
            Site(public_base_url=BASE_URL, feed_secret=SECRET, email=True),
            "Calendar invitations e-mailed to 16 members.",
            16,
        ),
        (
            Site(public_base_url=BASE_URL, feed_secret=SECRET),
            f"Add the Chorley Public Service Reform Board's meetings to your calendar: {BASE_URL}/calendar/",
            0,
        ),
        (Site(), "", 0),
    ],
)
def test_a_changed_meeting_is_e_mailed_or_its_post_carries_the_link(demo, clock, site, line, emails):
    """What the meetings commands' meeting_changed hook gets back for its channel post."""
    with demo() as session, session.begin():
        found = partnership.get(session)
        context = Context(
            session=session,
            now=clock.now(),
            partnership=found,
            zone=partnership.zone(found),
            person=None,
            slack_user_id=None,
            channel_id="CBOARD001",
            site=site,
        )
        said = invite_or_link(context, _board_meeting(session))
    assert said.startswith(line) and (line or said == "")
    with demo() as session:
        assert len(list(session.scalars(select(Delivery).where(Delivery.kind == "email")))) == emails


def test_a_cancelled_meetings_post_says_subscribed_calendars_show_it_cancelled(type_calendar):
    site = Site(public_base_url=BASE_URL, feed_secret=SECRET)
    reply = type_calendar("/meeting cancel 21/04/2015", channel="CBOARD001", site=site)
    assert reply.ok, reply.text
    [post] = [p.message.text for p in reply.posts if p.target == "CBOARD001"]
    assert post.splitlines()[-1].startswith(
        "Calendars subscribed to the Chorley Public Service Reform Board's meetings show it as cancelled: "
        f"{BASE_URL}/calendar/"
    )
    assert "to your calendar" not in post


def test_someone_in_no_group_gets_a_link_that_will_fill_when_they_join(type_calendar, web, demo, clock):
    with demo() as session, session.begin():
        youth = session.scalar(select(Person).where(Person.key == "youth"))
        for membership in session.scalars(select(Membership).where(Membership.person_id == youth.id)):
            session.delete(membership)
        session.add(PartnershipLoad(version="youth-left", loaded_at=clock.now()))  # as a load does
    reply = type_calendar("/calendar", person="youth")
    assert reply.text.startswith("*Your calendar* — no meetings yet: you are in no group.")
    body = fetch(web, feed_path(reply.text)).content
    assert body.startswith(b"BEGIN:VCALENDAR") and b"BEGIN:VEVENT" not in body
