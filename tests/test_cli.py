"""`partnerbot` as the engineer runs it: db upgrade, load, jobs run-due."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.commands import COMMANDS
from bot.commands.core import run
from services import outbox
from services.clock import MovableClock
from storage.models import Action, Delivery
from tests.conftest import DEMO_FILE, LONDON, count_rows


@pytest.fixture
def env(monkeypatch, database_url, slack_api):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", slack_api.url)


def test_loading_the_example_twice_leaves_the_database_as_it_was(env, db, capsys):
    assert main(["db", "upgrade"]) == 0
    assert main(["load", str(DEMO_FILE)]) == 0
    first = capsys.readouterr().out
    assert "created 16 actions, 3 groups, 36 meetings, " in first and ", 23 people, " in first
    assert first.strip().endswith(", 21 workstream members")
    loaded = count_rows(db)
    assert loaded["person"] > 20 and loaded["meeting"] > 30
    assert main(["load", str(DEMO_FILE)]) == 0
    assert capsys.readouterr().out.strip().endswith("nothing changed")
    assert count_rows(db) == loaded


def test_where_feeds_are_published_loading_issues_each_group_its_calendar_link_once(
    env, db, monkeypatch, capsys
):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://partnerbot.example.org")
    monkeypatch.setenv("FEED_SECRET", "a-feed-secret-of-at-least-32-characters!")
    assert main(["db", "upgrade"]) == 0
    assert main(["load", str(DEMO_FILE)]) == 0
    assert capsys.readouterr().out.strip().endswith("; issued calendar links for 3 groups")
    assert count_rows(db)["feed_token"] == 3
    assert main(["load", str(DEMO_FILE)]) == 0
    assert capsys.readouterr().out.strip().endswith("nothing changed")
    assert count_rows(db)["feed_token"] == 3


def test_a_bad_file_is_refused_whole_with_every_problem(env, db, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "partnership: {name: Test, timezone: Mars/Olympus}\n"
        "people:\n  - {id: a, name: A}\n"
        "groups:\n  - {slug: board, name: Board, abbreviation: B1, members: [{person: jdoe}]}\n"
    )
    before = count_rows(db)
    assert main(["load", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err
    assert "partnership.timezone" in err
    assert "groups[0].members[0].person: unknown person 'jdoe'" in err
    assert count_rows(db) == before


def test_run_due_sends_what_is_due_at_that_instant(env, demo, slack_api, capsys):
    at = datetime(2015, 2, 18, 9, 0, tzinfo=LONDON)
    with demo() as session, session.begin():
        outbox.enqueue(
            session,
            key="nudge:test",
            kind="channel",
            target="CBOARD001",
            payload={"text": "A1 is overdue"},
            due_at=at,
            now=at,
        )
    assert main(["jobs", "run-due", "--now", "2015-02-18T08:59"]) == 0
    assert "A1 is overdue" not in [p["text"] for p in slack_api.posts()]
    assert main(["jobs", "run-due", "--now", "2015-02-18T09:00"]) == 0
    posted = [p["text"] for p in slack_api.posts()]
    assert posted.count("A1 is overdue") == 1
    capsys.readouterr()
    assert main(["jobs", "run-due", "--now", "2015-02-18T09:00"]) == 0  # again: nothing new
    assert [p["text"] for p in slack_api.posts()] == posted
    assert "sent 0" in capsys.readouterr().out
    with demo() as session:
        assert session.scalar(select(Delivery.status).where(Delivery.key == "nudge:test")) == "sent"


def test_a_changed_file_reports_what_it_changed(env, db, tmp_path, capsys):
    text = DEMO_FILE.read_text()
    main(["load", str(DEMO_FILE)])
    capsys.readouterr()
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("{person: fire, role: member}", "{person: fire, role: observer}", 1))
    assert "{person: fire, role: observer}" in changed.read_text()
    assert main(["load", str(changed)]) == 0
    assert capsys.readouterr().out.strip().endswith(": updated 1 membership")


def test_loading_a_file_someone_has_left_names_the_open_actions_still_theirs(env, db, tmp_path, capsys):
    main(["load", str(DEMO_FILE)])
    # Amira Hussain leaves: out of the people, the Board and the workstream she contributes to.
    text = re.sub(r"(?m)^  - id: youth\b.*\n(?:    .*\n)*", "", DEMO_FILE.read_text())
    text = text.replace("      - {person: youth, role: member}\n", "").replace(", youth]", "]")
    left = tmp_path / "left.yaml"
    left.write_text(text)
    capsys.readouterr()
    assert main(["load", str(left)]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert said == [
        f"partnerbot: loaded {left}: updated 1 person; removed 1 membership, 1 workstream member",
        "partnerbot: Amira Hussain (youth) has left (not in the file) but still owns A13, whose "
        "reminders now go to the officers: `/action assign A13 WHO` gives an action to someone else",
    ]
    with db() as session:
        action = session.scalar(select(Action).where(Action.number == 13))
        assert action.owner.key == "youth" and action.status == "open"
    clock = MovableClock(datetime(2015, 4, 13, 9, 0, tzinfo=LONDON))
    assert run(COMMANDS["/action"], "assign A13 clerk", sessions=db, clock=clock, person_key="clerk").ok
    assert main(["load", str(left)]) == 0
    assert capsys.readouterr().out.strip().splitlines() == [f"partnerbot: loaded {left}: nothing changed"]


def test_failed_messages_are_listed_with_their_error_and_queued_again(env, db, slack_api, capsys):
    now = datetime(2015, 4, 13, 9, 0, tzinfo=LONDON)
    with db() as session, session.begin():
        for key in ("post:1", "post:2"):
            outbox.enqueue(
                session,
                key=key,
                kind="channel",
                target="CGONE0001",
                payload={"text": key},
                due_at=now,
                now=now,
            )
    slack_api.reply("chat.postMessage", body={"ok": False, "error": "channel_not_found"}, times=2)
    assert main(["jobs", "run-due", "--now", "2015-04-13T09:00"]) == 0
    capsys.readouterr()
    assert main(["deliveries", "--failed"]) == 0
    listed = capsys.readouterr().out
    assert (
        "failed   post:1  channel to CGONE0001  was due 2015-04-13 08:00Z  attempts 1  last error: channel_not_found"
        in listed.splitlines()
    )
    assert main(["deliveries", "retry", "post:404"]) == 1
    assert main(["deliveries", "retry", "post:1"]) == 0
    assert "queued 1 message again" in capsys.readouterr().out
    assert main(["deliveries"]) == 0
    listed = capsys.readouterr().out
    assert "failed   post:2  channel to CGONE0001  was due 2015-04-13 08:00Z" in listed
    # Queued again: its next try is now, its last error kept until it is sent.
    assert re.search(
        r"^pending  post:1  channel to CGONE0001  next try \d{4}-\d\d-\d\d \d\d:\d\dZ  attempts 1  last error: channel_not_found$",
        listed,
        re.M,
    )
    capsys.readouterr()
    assert main(["deliveries", "retry", "--all-failed"]) == 0
    assert "queued 1 message again" in capsys.readouterr().out
    assert main(["jobs", "run-due"]) == 0
    assert sorted(p["text"] for p in slack_api.posts()) == ["post:1", "post:2"]
    capsys.readouterr()
    assert main(["deliveries", "retry", "--all-failed"]) == 0
    assert capsys.readouterr().out.strip() == "partnerbot: no failed messages: nothing to queue again"
    with db() as session:
        assert set(session.scalars(select(Delivery.status))) == {"sent"}


def test_the_console_shows_a_post_once_without_the_delivery_path_s_log_lines(env, db, monkeypatch, capsys):
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("/update joint-commissioning amber Pooled budget delayed\n"))
    assert main(["console", "--demo"]) == 0
    shown = capsys.readouterr()
    posted = shown.out.split("▸ #board", 1)[1]  # what the console shows the channel received
    assert [line.strip() for line in posted.splitlines()].count("Pooled budget delayed") == 1
    assert "deliveries sent" not in shown.err, shown.err


def test_someone_taken_out_of_a_group_has_its_apologies_withdrawn_and_the_load_says_how_many(
    env, db, tmp_path, capsys
):
    """`load` runs on the machine's own clock: the Board gets two meetings ahead of it."""
    from services.clock import SystemClock
    from storage.models import Apology, Group, Meeting, Person

    main(["load", str(DEMO_FILE)])
    now = SystemClock().now()
    with db() as session, session.begin():
        board = session.scalar(select(Group).where(Group.slug == "board"))
        police = session.scalar(select(Person).where(Person.key == "police"))
        for days in (30, 60):
            ahead = Meeting(
                group=board, starts_at=now + timedelta(days=days), ends_at=now + timedelta(days=days, hours=1),
                uid=f"ahead-{days}@partnerbot", status="scheduled", sequence=0, created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(ahead)
            session.flush()
            session.add(Apology(meeting_id=ahead.id, person_id=police.id, created_at=now, updated_at=now))
    out_of_board = tmp_path / "out.yaml"
    out_of_board.write_text(DEMO_FILE.read_text().replace("      - {person: police, role: member}\n", "", 1))
    capsys.readouterr()
    assert main(["load", str(out_of_board)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"partnerbot: loaded {out_of_board}: updated 2 apologies; removed 1 membership"
    )
    assert main(["load", str(DEMO_FILE)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"partnerbot: loaded {DEMO_FILE}: created 1 membership; updated 2 apologies"
    )
    with db() as session:
        assert (
            session.scalar(select(func.count()).select_from(Apology).where(Apology.withdrawn_at.is_(None)))
            == 2
        )


def test_with_e_mail_someone_taken_out_of_a_group_and_put_back_is_uninvited_and_invited_again(
    env, db, tmp_path, monkeypatch, capsys
):
    """`load` runs on the machine's own clock: the Board gets a meeting a month ahead of it."""
    from services.clock import SystemClock
    from services.invites import queue_invitations
    from storage.models import Group, Meeting

    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:2525")
    main(["load", str(DEMO_FILE)])
    now = SystemClock().now()
    with db() as session, session.begin():
        board = session.scalar(select(Group).where(Group.slug == "board"))
        ahead = Meeting(
            group=board, starts_at=now + timedelta(days=30), ends_at=now + timedelta(days=30, hours=1),
            uid="ahead@partnerbot", status="scheduled", sequence=0, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(ahead)
        session.flush()
        assert queue_invitations(session, meeting=ahead, now=now) == 16
    out_of_board = tmp_path / "out.yaml"
    out_of_board.write_text(DEMO_FILE.read_text().replace("      - {person: police, role: member}\n", "", 1))
    capsys.readouterr()
    assert main(["load", str(out_of_board)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1:] == [
        "partnerbot: e-mailed 1 calendar cancellation to people no longer in a group, for the "
        "meetings of it ahead they were invited to"
    ]
    # Back in the Board: invited again, as its members were.
    assert main(["load", str(DEMO_FILE)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1:] == [
        "partnerbot: e-mailed 1 calendar invitation to people new to a group, for the meetings of it "
        "ahead already sent to its members"
    ]
    with db() as session:
        sent = session.scalars(
            select(Delivery).where(Delivery.target == "sarah.mellor@example.org").order_by(Delivery.id)
        ).all()
    assert [(d.key.rsplit(":", 1)[0], d.payload["method"]) for d in sent] == [
        ("request:ahead@partnerbot:0", "REQUEST"),
        ("uninvite:ahead@partnerbot:0:police", "CANCEL"),
        ("request:ahead@partnerbot:0:police", "REQUEST"),
    ]
