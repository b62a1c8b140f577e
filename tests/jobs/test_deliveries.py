"""The one delivery path: each message sent once, retried while that may help,
failed only when Slack refuses it for good, and never lost to a crash."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import make_url

from bot.jobs.deliveries import Claimed, Outcome, Route, backoff, send_due
from bot.jobs.leases import LEASE, claim
from bot.slack_api import SlackSender, web_client
from services import outbox
from storage.models import Delivery
from storage.session import make_engine, make_session_factory
from tests.conftest import POSTGRES_URL, Snapshot
from tests.faults.proxy import Proxy


@pytest.fixture
def sender(slack_api):
    return SlackSender(web_client("xoxb-test", slack_api.url))


def queue(db, clock, key="post:1", kind="channel", target="CBOARD001", text="Agenda published", due_at=None):
    with db() as session, session.begin():
        return outbox.enqueue(
            session,
            key=key,
            kind=kind,
            target=target,
            payload={"text": text},
            due_at=due_at or clock.now(),
            now=clock.now(),
        )


def queue_many(db, clock, count: int) -> list[str]:
    keys = [f"post:{n}" for n in range(count)]
    with db() as session, session.begin():
        for key in keys:
            outbox.enqueue(
                session,
                key=key,
                kind="channel",
                target="CBOARD001",
                payload={"text": key},
                due_at=clock.now(),
                now=clock.now(),
            )
    return keys


def delivery(db, key="post:1") -> Delivery:
    with db() as session:
        return session.scalar(select(Delivery).where(Delivery.key == key))


class Recorder:
    """A sender that records what it sent and fails on the keys it is told to."""

    def __init__(self, broken: dict[str, Exception] | None = None) -> None:
        self.sent: list[str] = []
        self.broken = broken or {}

    def send(self, delivery: Claimed) -> None:
        if delivery.key in self.broken:
            raise self.broken[delivery.key]
        self.sent.append(delivery.key)


def test_a_queued_post_is_sent_once_however_often_the_queue_runs(db, clock, slack_api, sender):
    assert queue(db, clock) is True
    assert queue(db, clock) is False  # the same key again queues nothing
    send_due(db, clock, sender)
    send_due(db, clock, sender)
    assert [(p["channel"], p["text"]) for p in slack_api.posts()] == [("CBOARD001", "Agenda published")]
    sent = delivery(db)
    assert (sent.status, sent.attempts, sent.claimed_until, sent.claim_token) == ("sent", 1, None, None)


def test_a_direct_message_opens_the_conversation_first(db, clock, slack_api, sender):
    queue(db, clock, key="dm:1", kind="direct", target="U0FIRE001", text="A7 is due")
    send_due(db, clock, sender)
    assert slack_api.last("conversations.open").params["users"] == "U0FIRE001"
    assert slack_api.posts()[0]["channel"] == "DU0FIRE001"


def test_text_is_escaped_once_as_it_goes_to_slack(db, clock, slack_api, sender):
    queue(db, clock, text="Police & Fire leads: <!channel> <@U123>")
    send_due(db, clock, sender)
    assert slack_api.posts()[0]["text"] == "Police &amp; Fire leads: &lt;!channel&gt; &lt;@U123&gt;"


def test_rate_limited_waits_as_long_as_slack_says(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "120"}, times=1)
    queue(db, clock)
    outcome = send_due(db, clock, sender)
    assert outcome.retrying == 1 and slack_api.posts() == []
    waiting = delivery(db)
    assert waiting.status == "pending" and waiting.next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    send_due(db, clock, sender)
    assert slack_api.posts() == []
    clock.advance(timedelta(seconds=1))
    send_due(db, clock, sender)
    assert len(slack_api.posts()) == 1 and delivery(db).status == "sent"


def test_back_off_doubles_to_an_hour_and_jitter_only_shortens_it():
    assert [backoff(n, jitter=lambda: 0.0).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]
    assert backoff(3, jitter=lambda: 1.0) == timedelta(seconds=60)


def test_a_day_long_slack_outage_loses_nothing(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", status=500)
    queue(db, clock)
    start = clock.now()
    while clock.now() < start + timedelta(days=1):
        send_due(db, clock, sender)
        current = delivery(db)
        assert current.status == "pending", "a transient failure must not give the message up"
        wait = current.next_attempt_at - clock.now()
        assert timedelta(seconds=15) <= wait <= timedelta(hours=1)
        clock.set(current.next_attempt_at)
    assert delivery(db).attempts > 20 and "500" in delivery(db).last_error
    slack_api.reset()
    send_due(db, clock, sender)
    assert len(slack_api.posts()) == 1 and delivery(db).status == "sent"


def test_a_message_that_could_not_go_for_a_week_is_failed_with_the_reason(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", status=503)
    queue(db, clock)
    clock.advance(timedelta(days=7))
    assert send_due(db, clock, sender) == send_due(db, clock, sender)  # nothing more to do
    expired = delivery(db)
    assert expired.status == "failed" and expired.last_error.startswith("expired")


def test_a_home_tab_publish_waits_out_an_outage_longer_than_a_week(db, clock, slack_api, sender):
    # A Home tab is built as it is published: however late, it shows the tab as it
    # is then, so it is never given up (and at most one waits for each person).
    slack_api.reply("views.publish", status=503)
    queue(db, clock, key="home:U0FIRE001:1", kind="home", target="U0FIRE001", text="Your open actions")
    assert send_due(db, clock, sender).retrying == 1
    clock.advance(timedelta(days=8))
    slack_api.reset()
    send_due(db, clock, sender)
    assert delivery(db, "home:U0FIRE001:1").status == "sent"
    published = [call for call in slack_api.calls("views.publish") if call.ok]
    assert [call.params["user_id"] for call in published] == ["U0FIRE001"]


def test_a_channel_that_does_not_exist_fails_at_once_with_the_reason(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    queue(db, clock)
    assert send_due(db, clock, sender).failed == 1
    assert delivery(db).status == "failed" and delivery(db).last_error == "channel_not_found"


def test_nothing_is_sent_before_it_is_due(db, clock, slack_api, sender):
    queue(db, clock, key="later", due_at=clock.now() + timedelta(hours=1))
    send_due(db, clock, sender)
    assert slack_api.posts() == []
    clock.advance(timedelta(hours=1))
    send_due(db, clock, sender)
    assert [p["text"] for p in slack_api.posts()] == ["Agenda published"]


def test_a_sender_that_breaks_on_one_row_sends_every_other_row_once(db, clock):
    keys = queue_many(db, clock, 25)
    recorder = Recorder(broken={"post:3": ValueError("a bug in a sender")})
    outcome = send_due(db, clock, recorder)
    send_due(db, clock, recorder)
    assert sorted(recorder.sent) == sorted(k for k in keys if k != "post:3")
    assert (outcome.sent, outcome.retrying) == (24, 1)
    broken = delivery(db, "post:3")
    assert broken.status == "pending" and broken.last_error == "a bug in a sender"
    recorder.broken.clear()
    clock.set(broken.next_attempt_at)
    send_due(db, clock, recorder)
    assert Counter(recorder.sent) == Counter(keys)


def test_a_kind_nothing_sends_fails_with_the_reason_and_the_rest_go(db, clock):
    queue(db, clock, key="invite:1", kind="email", target="lou.wing@example.org")
    queue(db, clock, key="post:2")
    recorder = Recorder()
    send_due(db, clock, Route({"channel": recorder}))
    assert recorder.sent == ["post:2"]
    assert delivery(db, "invite:1").status == "failed"
    assert "email" in delivery(db, "invite:1").last_error


def test_a_row_held_by_a_crashed_sender_is_sent_once_its_lease_runs_out(db, clock):
    queue_many(db, clock, 3)
    held = claim(db, now=clock.now(), limit=1)  # ...and the process dies before recording
    assert [c.key for c in held] == ["post:0"]
    recorder = Recorder()
    send_due(db, clock, recorder)
    assert recorder.sent == ["post:1", "post:2"]  # the leased row is left alone
    clock.advance(LEASE)
    send_due(db, clock, recorder)
    assert recorder.sent == ["post:1", "post:2", "post:0"]
    assert delivery(db, "post:0").status == "sent"


def test_an_outcome_recorded_after_the_lease_passed_to_another_does_not_overwrite_it(db, clock):
    queue(db, clock)
    first = claim(db, now=clock.now(), limit=1)
    clock.advance(LEASE)
    second = claim(db, now=clock.now(), limit=1)
    assert [c.key for c in first] == [c.key for c in second] == ["post:1"]
    assert first[0].token != second[0].token
    with db() as session, session.begin():
        session.execute(update(Delivery).values(status="sent"))  # the second sender finished
    assert delivery(db).claim_token == second[0].token


def test_failed_messages_can_be_queued_again(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", body={"ok": False, "error": "not_in_channel"}, times=1)
    queue(db, clock)
    send_due(db, clock, sender)
    assert delivery(db).status == "failed"
    clock.advance(timedelta(days=10))
    with db() as session, session.begin():
        assert outbox.requeue(session, now=clock.now(), keys=["post:1", "post:404"]) == 1
    send_due(db, clock, sender)
    assert delivery(db).status == "sent" and len(slack_api.posts()) == 1


def race(database_url: str, slack_url: str, processes: int, now: str) -> list[subprocess.CompletedProcess]:
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack_url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot.cli", "jobs", "run-due", "--now", now]
    running = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)
    ]
    return [
        subprocess.CompletedProcess(p.args, p.wait(60), p.stdout.read() if p.stdout else "") for p in running
    ]


def test_processes_racing_over_the_queue_send_each_of_200_messages_once(db, clock, database_url, slack_api):
    keys = queue_many(db, clock, 200)
    # Each process posts one at a time: two posts held at once are two processes sending.
    slack_api.reply("chat.postMessage", delay=0.01, together=2)
    finished = race(database_url, slack_api.url, 3, clock.now().isoformat())
    assert [f.returncode for f in finished] == [0, 0, 0]
    assert Counter(p["text"] for p in slack_api.posts()) == Counter(keys)
    senders = [int(f.stdout.split("sent ")[1].split(",")[0]) for f in finished]
    assert sum(senders) == 200 and sum(1 for n in senders if n) >= 2, senders


def test_a_post_in_doubt_is_not_made_again_when_slack_already_has_it(db, clock, slack_api, sender):
    queue_many(db, clock, 2)
    in_doubt = claim(db, now=clock.now(), limit=2)
    sender.send(in_doubt[0])  # reached Slack, then the process died before recording it
    clock.advance(LEASE)
    outcome = send_due(db, clock, sender)
    assert outcome.sent == 2
    assert Counter(p["text"] for p in slack_api.posts()) == Counter({"post:0": 1, "post:1": 1})
    assert slack_api.last("conversations.history").params["channel"] == "CBOARD001"


def test_a_process_killed_while_slack_takes_a_post_sends_it_once_after_restart(
    db, clock, database_url, slack_api
):
    keys = queue_many(db, clock, 5)
    slack_api.reply("chat.postMessage", delay=30, times=1)  # Slack takes the first post, then hangs
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack_api.url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot.cli", "jobs", "run-due", "--now", clock.now().isoformat()]
    running = subprocess.Popen(command, env=env)
    slack_api.wait_for("chat.postMessage", timeout=20)
    running.kill()  # SIGKILL: between Slack taking the post and the outcome being recorded
    running.wait(10)
    assert delivery(db, "post:0").claim_token is not None and delivery(db, "post:0").status == "pending"
    later = (clock.now() + LEASE + timedelta(minutes=1)).isoformat()
    restarted = subprocess.run([*command[:-1], later], env=env, timeout=60)
    assert restarted.returncode == 0
    assert Counter(p["text"] for p in slack_api.posts()) == Counter(keys)
    with db() as session:
        assert set(session.scalars(select(Delivery.status))) == {"sent"}


def test_a_rate_limit_holds_the_rest_of_the_batch_without_spending_their_attempts(
    db, clock, slack_api, sender
):
    keys = queue_many(db, clock, 5)
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "30"}, times=1)
    outcome = send_due(db, clock, sender)
    assert (outcome.sent, outcome.retrying) == (0, 1)
    assert len(slack_api.calls("chat.postMessage")) == 1  # not one refused call per message
    waiting = [delivery(db, key) for key in keys]
    assert {d.next_attempt_at for d in waiting} == {clock.now() + timedelta(seconds=30)}
    assert [d.attempts for d in waiting] == [1, 0, 0, 0, 0] and all(d.claim_token is None for d in waiting)
    clock.advance(timedelta(seconds=30))
    send_due(db, clock, sender)
    assert Counter(p["text"] for p in slack_api.posts()) == Counter(keys)


class Watcher:
    """A sender that looks at the database from outside as each message goes: what
    a process killed at that moment would leave behind, and whether a transaction
    is open while it 'calls Slack'."""

    def __init__(self, engine, db) -> None:
        self.engine, self.db = engine, db
        self.sent: list[str] = []
        self.unrecorded: list[list[str]] = []  # sent before this one, not yet stored as sent
        self.open_transactions: list[int] = []

    def send(self, delivery: Claimed) -> None:
        with self.db() as session:
            stored = {key: status for key, status in session.execute(select(Delivery.key, Delivery.status))}
        self.unrecorded.append([key for key in self.sent if stored[key] != "sent"])
        self.open_transactions.append(self._transactions_open())
        self.sent.append(delivery.key)

    def _transactions_open(self) -> int:
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as connection:
                return connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                ).scalar_one()
        other = sqlite3.connect(self.engine.url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if another connection is writing
            other.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            other.close()


def test_each_outcome_is_stored_before_the_next_message_goes_and_nothing_is_held_open_meanwhile(
    engine, db, clock
):
    keys = queue_many(db, clock, 25)
    watcher = Watcher(engine, db)
    assert send_due(db, clock, watcher).sent == 25
    assert sorted(watcher.sent) == sorted(keys)
    # Killed at any moment, a process would leave at most the message it was sending in doubt.
    assert watcher.unrecorded == [[]] * 25
    assert watcher.open_transactions == [0] * 25
    assert {delivery(db, key).status for key in keys} == {"sent"}


def a_pass_of(engine, db, clock, *, sending: int) -> tuple[list[str], list[str | None]]:
    """The statements a pass that sends `sending` messages runs, and the
    transactions it begins (each by its isolation level: None, or AUTOCOMMIT)."""
    statements: list[str] = []
    begun: list[str | None] = []

    def executed(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    def began(conn) -> None:
        begun.append(conn.get_execution_options().get("isolation_level"))

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "begin", began)
    try:
        assert send_due(db, clock, Recorder()).sent == sending
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "begin", began)
    return statements, begun


def test_on_postgresql_a_pass_costs_a_statement_a_message_and_one_a_claim(engine, db, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips are what a pass saves on PostgreSQL; SQLite has none")
    queue_many(db, clock, 25)
    statements, begun = a_pass_of(engine, db, clock, sending=25)
    outcomes = [s for s in statements if s.startswith("UPDATE delivery SET status")]
    claims = [s for s in statements if s.startswith("WITH due AS")]
    # The first claim is a transaction of its own (most passes find nothing due and
    # hold no connection): its lock bound, SELECT and UPDATE. Then one statement for
    # each of 25 outcomes and the 2 claims after it (10, 5), and the pass's own lock
    # bound set and reset: no transaction opened for any of those.
    assert (len(outcomes), len(claims), len(statements)) == (25, 2, 3 + 25 + 2 + 2)
    assert len(begun) == 2


def test_a_pass_whose_connection_is_lost_sends_the_rest_through_the_pool_once(postgres_engine, clock):
    with postgres_engine.begin() as connection:
        Snapshot.clear(connection)
    url = make_url(POSTGRES_URL)
    with Proxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        db = make_session_factory(engine)
        keys = queue_many(db, clock, 25)

        class RestartMidPass(Recorder):
            def send(self, delivery: Claimed) -> None:
                super().send(delivery)
                if len(self.sent) == 3:  # the database restarts while the 3rd is being sent
                    proxy.cut()
                    proxy.restore()

        sender = RestartMidPass()
        outcome = send_due(db, clock, sender)
        engine.dispose()
    assert outcome.sent == 25 and Counter(sender.sent) == Counter(keys)
    assert {delivery(make_session_factory(postgres_engine), key).status for key in keys} == {"sent"}


def test_on_sqlite_each_claim_and_outcome_is_one_update_that_commits_as_it_runs(engine, db, clock):
    """No transaction is begun for a claim or an outcome: SQLite holds its one
    write lock while it runs the UPDATE, not from BEGIN through the sending
    process's Python to COMMIT, where commands would wait behind it (bench/README.md)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's pass is pinned above")
    queue_many(db, clock, 25)
    statements, begun = a_pass_of(engine, db, clock, sending=25)
    outcomes = [s for s in statements if s.startswith("UPDATE delivery SET status")]
    leases = [s for s in statements if s.startswith("UPDATE delivery SET claimed_until")]
    reads = [s for s in statements if s.startswith("SELECT delivery.id, delivery.claim_token")]
    # Three claims (10, 10, 5), each a read and an UPDATE of what it found; all
    # on one connection in autocommit.
    assert (len(outcomes), len(leases), len(reads)) == (25, 3, 3)
    assert begun == ["AUTOCOMMIT"]


def test_on_sqlite_a_pass_that_finds_nothing_due_does_not_wait_for_the_write_lock(engine, db, clock):
    """Most passes find nothing due: they read, and leave the one write lock to
    the commands (a claim that began a transaction waited for it, then gave up)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no database-wide write lock")
    queue(db, clock, due_at=clock.now() + timedelta(hours=1))
    writer = sqlite3.connect(engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a command, writing
    try:
        assert send_due(db, clock, Recorder()) == Outcome()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_on_sqlite_a_message_taken_by_another_pass_between_a_claims_read_and_its_lease_is_left_in_doubt(
    engine, db, clock, slack_api, sender
):
    """Between the read and the UPDATE of a claim (`_claim_seen`) another pass
    takes the row, reaches Slack, and is killed; were its lease over already, this
    claim, having read the row as never held, must not send it as if it were new."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL claims in one statement")
    queue(db, clock)

    meanwhile: list[str] = []

    def another_pass_took_it(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("UPDATE delivery SET claimed_until") and not meanwhile:
            meanwhile.append(statement)  # once: the other pass's own claim runs through here too
            (taken,) = claim(db, now=clock.now(), limit=1)
            sender.send(taken)
            with db() as session, session.begin():  # its lease over by now
                session.execute(update(Delivery).values(claimed_until=clock.now()))

    event.listen(engine, "before_cursor_execute", another_pass_took_it)
    try:
        assert send_due(db, clock, sender).sent == 0
    finally:
        event.remove(engine, "before_cursor_execute", another_pass_took_it)
    outcome = send_due(db, clock, sender)  # the next pass finds it in doubt, and checks first
    assert outcome.sent == 1
    assert len(slack_api.posts()) == 1
    assert slack_api.last("conversations.history").params["channel"] == "CBOARD001"
    assert delivery(db).status == "sent"
