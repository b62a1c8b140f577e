"""/update: the workstreams' highlight reports, typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.blocks.forms import form_view
from bot.commands.update import (
    Choose,
    Close,
    History,
    Misspelt,
    OpenForm,
    Quick,
    Trailing,
    misspelt_status,
    parse,
)
from storage.models import AuditEntry, Delivery, Update, Workstream
from tests.conftest import count_rows


def updates_of(sessions, slug: str) -> list[Update]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Update)
                .join(Workstream, Workstream.id == Update.workstream_id)
                .where(Workstream.slug == slug)
                .order_by(Update.id)
            )
        )


def posts(sessions) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == "channel").order_by(Delivery.id)))


# -- the grammar, pure -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("", Choose()),
        ("joint-commissioning", OpenForm("joint-commissioning")),
        ("joint amber Pooled budget delayed to Q3", Quick("joint", "amber", "Pooled budget delayed to Q3")),
        ("joint AMBER: Pooled budget", Quick("joint", "amber", "Pooled budget")),
        ("joint Pooled budget agreed", Quick("joint", None, "Pooled budget agreed")),
        ("joint red", Quick("joint", "red", "")),
        ("joint history", History("joint")),
        ("joint History", History("joint")),
        ("joint history 10", Trailing("joint", "history")),
        ("joint history all", Trailing("joint", "history")),
        ("joint history last 3", Trailing("joint", "history")),
        ("joint history of the pooled budget", Quick("joint", None, "history of the pooled budget")),
        ("joint close", Close("joint")),
        ("joint close the gap on referrals", Quick("joint", None, "close the gap on referrals")),
        ("joint ambr Pooled budget delayed", Misspelt("joint", "ambr", "amber")),
        ("joint Gren: on track", Misspelt("joint", "Gren", "green")),
        ("joint rd", Misspelt("joint", "rd", "red")),
        ("joint Read the pooled budget paper", Quick("joint", None, "Read the pooled budget paper")),
        ("joint green Gree to chair", Quick("joint", "green", "Gree to chair")),
    ],
)
def test_the_grammar_reads_each_form(text, intent):
    assert parse(text) == intent


@pytest.mark.parametrize(
    ("word", "meant"),
    [
        *[(w, "amber") for w in ("ambr", "amer", "mber", "ambre", "ambar", "amberr", "anber", "abmer")],
        *[(w, "amber") for w in ("yellow", "orange")],  # amber by other names
        *[(w, "green") for w in ("gren", "gree", "geen", "grean", "grene", "rgeen", "greeen")],
        *[(w, "red") for w in ("rd", "redd", "rred", "rde", "erd")],
        # words and names a letter from a status, and words further off: an update's own first word
        *[
            (w, None)
            for w in (
                *("read", "reed", "reid", "redo", "reds", "fred", "bed", "rod", "re", "ed"),
                *("ember", "umber", "greed", "greet", "greek", "greer", "greens", "preen"),
                *("amble", "agreed", "grey", "grn", "am", "referrals", "amber", "green", "red", ""),
            )
        ],
    ],
)
def test_a_status_one_slip_off_is_told_from_words_and_names(word, meant):
    assert misspelt_status(word) == meant


# -- quick updates, end to end through the command core ---------------------------------------


def test_a_lead_posts_a_quick_update_to_the_reporting_groups_channel(type_command, demo):
    reply = type_command("/update joint-commissioning amber Pooled budget delayed to Q3", person="fire")
    assert reply.ok
    assert "Saved and posted to the Chorley Public Service Reform Board channel" in reply.text
    assert "Joint Commissioning" in reply.text and "Amber" in reply.text
    [update] = updates_of(demo, "joint-commissioning")
    assert (update.rag, update.progress) == ("amber", "Pooled budget delayed to Q3")
    [post] = posts(demo)
    assert post.target == "CBOARD001" and post.key == f"update:{update.id}"
    text = post.payload["text"]
    assert "*Joint Commissioning* — update from Ray Cottam (Lancashire Fire and Rescue Service)" in text
    assert "Status: *🟠 Amber*" in text and "changed from" not in text
    assert "Pooled budget delayed to Q3" in text
    with demo() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.what == "update.post"))
    assert (entry.actor, entry.subject, entry.after["rag"]) == ("Ray Cottam", "joint-commissioning", "amber")


# Typed whole, a slug is read with what posting asks first; its start is read alone.
TYPED = pytest.mark.parametrize("typed", ["joint", "joint-commissioning"])


@TYPED
def test_a_first_update_without_a_status_is_green_and_later_ones_keep_the_last(type_command, demo, typed):
    type_command(f"/update {typed} Scoping paper circulated", person="fire")
    type_command(f"/update {typed} amber Pooled budget delayed", person="fire")
    type_command(f"/update {typed} Pooled budget now due in Q3", person="ccg")
    assert [u.rag for u in updates_of(demo, "joint-commissioning")] == ["green", "amber", "amber"]


@TYPED
def test_a_change_of_status_is_called_out(type_command, demo, typed):
    type_command(f"/update {typed} green On track", person="fire")
    reply = type_command(f"/update {typed} amber Pooled budget delayed", person="fire")
    assert "changed from 🟢 Green" in reply.text
    assert "Status: *🟠 Amber*, changed from 🟢 Green" in posts(demo)[-1].payload["text"]
    same = type_command(f"/update {typed} amber Still delayed", person="fire")
    assert "changed from" not in same.text


def test_the_workstream_is_matched_by_slug_case_or_unique_prefix(type_command, demo):
    for typed in ("JOINT-COMMISSIONING", "Joint", "wellbeing"):
        assert type_command(f"/update {typed} All on track", person="publichealth").ok
    assert len(updates_of(demo, "joint-commissioning")) == 2
    assert len(updates_of(demo, "wellbeing-and-resilience")) == 1


def test_contributors_and_officers_may_post(type_command, demo):
    assert type_command("/update joint Provider market mapped", person="vcfs").ok  # contributor
    assert type_command("/update joint Report to June board", person="clerk").ok  # board officer
    assert len(updates_of(demo, "joint-commissioning")) == 2


def test_history_shows_the_last_five_newest_first(type_command, demo, clock):
    from datetime import timedelta

    for week in range(7):
        type_command(f"/update joint green Week {week + 1} done", person="fire")
        clock.set(clock.now() + timedelta(days=7))
    reply = type_command("/update joint history", person="college")  # anyone may read it
    lines = reply.text.splitlines()
    assert lines[0] == "The last 5 updates of *Joint Commissioning*:"
    assert len(lines) == 6
    assert "Week 7 done" in lines[1] and "Week 3 done" in lines[5]
    assert "Mon 25 May 2015 — 🟢 Green (Ray Cottam): Week 7 done" in lines[1]


def test_history_names_a_highlight_report_s_parts_after_its_progress(type_command, demo, clock):
    with demo() as session, session.begin():
        joint = session.scalar(select(Workstream).where(Workstream.slug == "joint-commissioning"))
        session.add(
            Update(
                workstream_id=joint.id,
                rag="red",
                progress="Scoping paper drafted",
                issues="CCG board timetable slipping",
                decision_needed="Extend the pilot by 3 months",
                created_at=clock.now(),
            )
        )
    [_, line] = type_command("/update joint history").text.splitlines()
    assert line.endswith(
        ": Scoping paper drafted — *Issues*: CCG board timetable slipping — "
        "*Decision needed*: Extend the pilot by 3 months"
    )


def test_history_of_a_workstream_with_none(type_command):
    reply = type_command("/update integrated history")
    assert "Integrated Assets has no updates yet" in reply.text


def test_an_officer_closes_a_workstream_and_it_takes_no_more_updates(type_command, demo):
    reply = type_command("/update intelligence-sharing close", person="programme")
    assert reply.ok and "Intelligence Sharing is now closed" in reply.text
    with demo() as session:
        workstream = session.scalar(select(Workstream).where(Workstream.slug == "intelligence-sharing"))
        entry = session.scalar(select(AuditEntry).where(AuditEntry.what == "workstream.close"))
    assert workstream.is_open is False and entry.actor == "Tomasz Nowicki"
    before = count_rows(demo)
    refused = type_command("/update intelligence-sharing green Protocol signed", person="intel")
    assert not refused.ok and "was closed, so it takes no more updates" in refused.text
    assert count_rows(demo) == before
    again = type_command("/update intelligence-sharing close", person="programme")
    assert "is closed already: nothing changed" in again.text
    assert count_rows(demo) == before


def test_a_closed_workstream_is_reopened_by_an_officer_and_takes_updates_again(type_command, demo):
    type_command("/update intelligence-sharing close", person="programme")
    refused = type_command("/update intelligence-sharing green Protocol signed", person="intel")
    assert "an officer can reopen it (`/update intelligence-sharing reopen`)" in refused.text
    before = count_rows(demo)
    lead = type_command("/update intelligence-sharing reopen", person="intel")
    assert not lead.ok and lead.text.startswith(
        "Only the officers of the Implementation Group or its chair can reopen Intelligence Sharing: ask "
    )
    assert count_rows(demo) == before
    reply = type_command("/update intelligence-sharing reopen", person="programme")
    assert reply.ok and reply.text == (
        "Intelligence Sharing is open again: it takes updates (`/update intelligence-sharing`) and is back in "
        "the weekly digest."
    )
    with demo() as session:
        workstream = session.scalar(select(Workstream).where(Workstream.slug == "intelligence-sharing"))
        entry = session.scalar(select(AuditEntry).where(AuditEntry.what == "workstream.reopen"))
    assert workstream.is_open is True
    assert (entry.actor, entry.before, entry.after) == ("Tomasz Nowicki", {"open": False}, {"open": True})
    assert type_command("/update intelligence-sharing green Protocol signed", person="intel").ok
    before = count_rows(demo)
    again = type_command("/update intelligence-sharing reopen", person="programme")
    assert again.ok and again.text == "Intelligence Sharing is open already: nothing changed."
    assert count_rows(demo) == before
    # Words after it make it an update's text, as after `close` and `history`.
    said = type_command("/update intelligence-sharing reopen the data hub talks", person="intel")
    assert said.ok and "reopen the data hub talks" in said.posts[0].text


# -- refusals: each says why, and who may; nothing is stored ------------------------------------


@pytest.mark.parametrize(
    ("line", "person", "says"),
    [
        (
            "/update jont green On track",
            "fire",
            "There is no workstream 'jont'. Did you mean joint-commissioning? Workstreams: "
            "integrated-assets, intelligence-sharing, joint-commissioning, wellbeing-and-resilience.",
        ),
        ("/update joint-comissioning On track", "fire", "Did you mean joint-commissioning?"),
        (
            "/update jc green On track",
            "fire",
            "There is no workstream 'jc'. Did you mean joint-commissioning?",
        ),
        ("/update wr On track", "fire", "Did you mean wellbeing-and-resilience?"),
        ("/update zzzz On track", "fire", "There is no workstream 'zzzz'. Workstreams:"),
        ("/update in On track", "fire", "'in' could be integrated-assets, intelligence-sharing"),
        ("/update joint amber", "fire", "Say what has happened"),
        (
            "/update joint ambr Pooled budget delayed to Q3",
            "fire",
            "'ambr' is not a status: did you mean amber? Type "
            "`/update joint-commissioning amber TEXT`. To begin an update with the word 'ambr', "
            "give its status (green, amber or red) before it.",
        ),
        (
            "/update joint history 10",
            "fire",
            "`/update joint-commissioning history` shows the last five and takes nothing after it. To begin an update with the "
            "word 'history', give its status (green, amber or red) before it.",
        ),
        (
            "/update joint green On track",
            "college",
            "Only the leads of Joint Commissioning (Caroline Entwistle, Ray Cottam), its contributing "
            "partners and the officers and chair of the Chorley Public Service Reform Board",
        ),
        ("/update joint green On track", None, "not in the partnership file"),
        (
            "/update joint close",
            "fire",
            "Only the officers of the Chorley Public Service Reform Board or its chair can close",
        ),
        ("/update joint " + "x" * 3100, "fire", "at most 3,000 characters"),
        ("/update <!channel> green hi", "fire", "There is no workstream"),
        ("/update joint green " + "y" * 5000, "fire", "a command takes at most 4,000"),
    ],
    ids=[
        "typo",
        "misspelt slug",
        "initials",
        "initials without 'and'",
        "unknown",
        "ambiguous prefix",
        "status without text",
        "misspelt status",
        "history with more",
        "not a lead, contributor or officer",
        "not in the partnership",
        "only officers close",
        "huge text",
        "hostile workstream",
        "over Slack's limit",
    ],
)
def test_refusals_say_why_and_store_nothing(type_command, demo, line, person, says):
    before = count_rows(demo)
    reply = type_command(line, person=person)
    assert not reply.ok
    assert says in reply.text and "Nothing was changed" in reply.text
    assert count_rows(demo) == before


def test_hostile_text_is_stored_as_typed_for_the_slack_edge_to_escape(type_command, demo):
    type_command("/update joint Tell <!channel> & <@U0CHAIR01>", person="fire")
    [update] = updates_of(demo, "joint-commissioning")
    assert update.progress == "Tell <!channel> & <@U0CHAIR01>"


# -- the forms ------------------------------------------------------------------------------------


def test_update_alone_offers_only_the_workstreams_the_person_may_report_on(type_command, demo):
    # A contributing partner: their own two, not the two they may not post to.
    form = type_command("/update", person="vcfs").form
    assert form is not None and form.name == "update-workstream"
    [field] = form.fields
    assert [c.value for c in field.choices] == ["joint-commissioning", "wellbeing-and-resilience"]
    assert field.preset == "joint-commissioning"
    # An officer of the board, which they all report to: every one.
    [field] = type_command("/update", person="clerk").form.fields
    assert [c.value for c in field.choices] == [
        "integrated-assets",
        "intelligence-sharing",
        "joint-commissioning",
        "wellbeing-and-resilience",
    ]
    # A member with none: told why, and no form to fill in for nothing.
    before = count_rows(demo)
    refused = type_command("/update", person="countycllr")
    assert not refused.ok and refused.form is None
    assert refused.text.startswith(
        "You lead or contribute to no workstream, so there is none for you to report on."
    )
    assert count_rows(demo) == before


def test_the_highlight_form_has_the_reports_parts_in_order_and_the_last_status(type_command):
    type_command("/update joint amber Pooled budget delayed", person="fire")
    form = type_command("/update joint", person="fire").form
    assert form is not None and form.state == {"workstream": "joint-commissioning"}
    assert [f.name for f in form.fields] == [
        "rag",
        "progress",
        "issues",
        "risks",
        "next_steps",
        "decision_needed",
    ]
    assert form.fields[0].preset == "amber"
    # Its whole title for the console; Slack's modal title clipped to its 24 characters.
    assert form.title == "Joint Commissioning update"
    assert form_view(form, carried={})["title"]["text"] == "Joint Commissioning upd…"


def test_the_highlight_form_is_refused_to_someone_who_may_not_post(type_command):
    reply = type_command("/update joint", person="college")
    assert reply.form is None and not reply.ok and "Only the leads of Joint Commissioning" in reply.text


def test_history_shows_local_days_across_the_clock_change(type_command, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # 00:30 on Mon 30 Mar 2015 in Chorley is 23:30 UTC on Sunday: British Summer Time began that weekend.
    clock.set(datetime(2015, 3, 30, 0, 30, tzinfo=ZoneInfo("Europe/London")))
    type_command("/update joint green Just after midnight", person="fire")
    clock.set(datetime(2015, 10, 25, 0, 30, tzinfo=ZoneInfo("Europe/London")))  # the night it ended
    type_command("/update joint amber Night the clocks went back", person="fire")
    lines = type_command("/update joint history").text.splitlines()
    assert lines[1].startswith("• Sun 25 Oct 2015 — 🟠 Amber (Ray Cottam)")
    assert lines[2].startswith("• Mon 30 Mar 2015 — 🟢 Green (Ray Cottam)")


def test_a_workstream_found_by_its_slug_is_the_sessions_own_and_saves_what_changes(demo):
    from services import workstreams
    from storage.session import transaction

    with transaction(demo) as session:
        loaded = session.scalars(select(Workstream).where(Workstream.slug == "integrated-assets")).one()
        assert workstreams.find(session, "INTEGRATED-ASSETS ") is loaded  # the one the session holds already
    with transaction(demo) as session:
        found = workstreams.find(session, "integrated-assets")
        assert found in session and found is workstreams.find(session, "integrated-assets")
        assert not session.dirty  # nothing to write for having found it
        found.name = "Integrated assets, renamed"
    with demo() as session:
        assert session.scalars(
            select(Workstream.name).where(Workstream.slug == "integrated-assets")
        ).one() == ("Integrated assets, renamed")


def test_a_workstream_found_with_a_question_is_the_sessions_own_or_one_in_no_session(demo):
    """`find_with` (the quick update's): the session's own Workstream if it holds
    it, else a copy to read, left out of the session (taking it in cost a tenth
    of `/update`); either way its columns as stored."""
    from services import workstreams
    from services.updates import _BEFORE_BY_SLUG
    from storage.session import transaction

    with transaction(demo) as session:
        loaded = session.scalars(select(Workstream).where(Workstream.slug == "integrated-assets")).one()
        found, _ = workstreams.find_with(session, "integrated-assets", _BEFORE_BY_SLUG, {"person": 1})
        assert found is loaded
    with transaction(demo) as session:
        found, rows = workstreams.find_with(session, "Integrated-Assets", _BEFORE_BY_SLUG, {"person": 1})
        assert found not in session and rows is not None
        assert (found.id, found.slug, found.is_open) == (loaded.id, "integrated-assets", True)
        assert found.name == loaded.name and found.group_id == loaded.group_id
