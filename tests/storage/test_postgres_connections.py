"""PostgreSQL connections as requests use them: a transaction costs the round
trips of its own statements plus BEGIN and COMMIT (the driver's own record of
what it sent says so), its lock waits stay bounded, and a pooled connection the
server closed is replaced without the next command noticing."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from psycopg import pq
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from bot.commands import COMMANDS
from bot.commands.core import run
from services.clock import MovableClock
from services.directory import LATEST_LOAD
from storage.models import Partnership
from storage.partnership_file import load, read_file
from storage.prepared import FirstAnswerChanged
from storage.session import (
    ANSWERED_FIRST,
    REQUEST_LOCK_WAIT,
    Busy,
    answering_by,
    expect_first,
    first_answer,
    first_pending,
    keeping_connections,
    make_engine,
    make_session_factory,
    transaction,
)
from tests.conftest import DEMO_FILE, DEMO_NOW, POSTGRES_URL
from tests.storage.test_session import in_a_thread_of_its_own

# Frontend messages the server answers: a simple query, or the Sync that ends an extended one.
ROUND_TRIP = {"Query", "Sync"}


@pytest.fixture
def pooled_engine(postgres_engine):
    """An engine of its own (its pool holds what these tests put there), on the
    schema `postgres_engine` made."""
    engine = make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(pooled_engine):
    return make_session_factory(pooled_engine)


def sent(engine, work: Callable[[], object]) -> list[tuple[str, str]]:
    """What the driver sent the server while `work` ran, from libpq's own trace:
    (message type, its text), everything from the pool's checkout to its checkin."""
    with transaction(make_session_factory(engine)):
        pass  # connected, and the dialect's first-connection queries are done
    with engine.connect() as connection:  # no statement: nothing is sent
        driver = connection.connection.driver_connection
    assert driver is not None
    return traced(driver, work)


def traced(driver, work: Callable[[], object]) -> list[tuple[str, str]]:
    """What `driver` (a psycopg connection) sent the server while `work` ran."""
    with tempfile.TemporaryFile("w+") as trace:
        driver.pgconn.trace(trace.fileno())
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            driver.pgconn.untrace()
        trace.seek(0, os.SEEK_SET)
        lines = trace.read().splitlines()
    frontend = [line.split("\t") for line in lines if line.startswith("F\t")]
    return [(fields[2], fields[3].strip() if len(fields) > 3 else "") for fields in frontend]


def round_trips(messages: list[tuple[str, str]]) -> list[str]:
    return [text_ or kind for kind, text_ in messages if kind in ROUND_TRIP]


def test_an_empty_request_transaction_is_begin_and_commit_only(pooled_engine, sessions):
    def request() -> None:
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT):
            pass

    trips = round_trips(sent(pooled_engine, request))
    assert len(trips) == 2, trips  # no ping before, no set_config between, no ROLLBACK after
    assert trips[0].startswith('"BEGIN;') and "lock_timeout = 2000" in trips[0], trips
    assert trips[1] == '"COMMIT"'


@pytest.mark.parametrize("late", [False, True], ids=["job", "late-request"])
def test_a_job_or_a_late_request_costs_no_round_trip_more(pooled_engine, sessions, late):
    def work() -> None:
        if late:
            with answering_by(time.monotonic() + 0.5), transaction(sessions, lock_wait=REQUEST_LOCK_WAIT):
                pass
        else:
            with transaction(sessions):
                pass

    trips = round_trips(sent(pooled_engine, work))
    assert len(trips) == 2 and trips[1] == '"COMMIT"', trips
    assert ("lock_timeout = 500;" if late else "lock_timeout = 30000;") in trips[0], trips


def test_a_transaction_s_statements_add_one_round_trip_each(pooled_engine, sessions):
    def request() -> None:
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
            session.execute(select(Partnership.id)).all()
            session.execute(select(Partnership.name)).all()

    trips = round_trips(sent(pooled_engine, request))
    assert len(trips) == 4, trips  # BEGIN, the two selects, COMMIT: the driver begins nothing itself


def test_a_request_s_first_question_rides_in_begin_s_message(
    postgres_engine, postgres_demo, pooled_engine, sessions
):
    """Every command asks which load of the partnership file is the latest: in
    BEGIN's own message, not a round trip of its own."""
    postgres_demo.restore(postgres_engine)
    with transaction(sessions) as session:
        latest = session.scalar(text(LATEST_LOAD))
    assert latest is not None

    def request() -> None:
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, ask_first=LATEST_LOAD) as session:
            assert session.info[ANSWERED_FIRST] == (LATEST_LOAD, latest)

    trips = round_trips(sent(pooled_engine, request))
    assert len(trips) == 2 and trips[1] == '"COMMIT"', trips
    assert trips[0].startswith('"BEGIN;') and trips[0].endswith(f'; {LATEST_LOAD}"'), trips


def test_a_command_asks_the_server_nothing_before_its_own_statements(
    postgres_engine, postgres_demo, pooled_engine, sessions
):
    postgres_demo.restore(postgres_engine)
    clock = MovableClock(DEMO_NOW)
    command = COMMANDS["/meeting"]
    run(command, "next", sessions=sessions, clock=clock, slack_user_id="U0CLERK01")  # the directory fills

    trips = round_trips(
        sent(
            pooled_engine,
            lambda: run(command, "next", sessions=sessions, clock=clock, slack_user_id="U0CLERK01"),
        )
    )
    # From the pool, what only reads is a READ ONLY transaction, ended with nothing to commit.
    assert trips[0].endswith(f'; {LATEST_LOAD}"') and trips[-1] == '"ROLLBACK"', trips
    assert not any("partnership_load" in trip for trip in trips[1:]), trips


def test_a_connection_goes_back_to_the_pool_with_nothing_open(postgres_engine, sessions):
    """The driver does not begin these transactions itself; it must still end
    them: committed, rolled back after an error, or a plain read left unended."""

    def nothing_held() -> None:
        with postgres_engine.begin() as other:  # would fail at once if a lock were still held
            other.execute(text("LOCK TABLE partnership IN ACCESS EXCLUSIVE MODE NOWAIT"))

    with transaction(sessions) as session:
        session.execute(select(Partnership.id).with_for_update()).all()
    nothing_held()
    with pytest.raises(ValueError), transaction(sessions) as session:
        session.execute(select(Partnership.id).with_for_update()).all()
        raise ValueError("the caller's own error")
    nothing_held()
    with sessions() as session:
        session.execute(select(Partnership.id)).all()
    nothing_held()


def test_each_transaction_waits_for_locks_as_long_as_it_may_and_a_plain_session_as_before(sessions):
    def timeouts(**kwargs) -> tuple[str, str]:
        with transaction(sessions, **kwargs) as session:
            return session.scalar(text("SHOW lock_timeout")), session.scalar(text("SHOW statement_timeout"))

    assert timeouts(lock_wait=REQUEST_LOCK_WAIT) == ("2s", "2s")
    assert timeouts() == ("30s", "30s")
    with answering_by(time.monotonic() + 0.5):
        assert timeouts(lock_wait=REQUEST_LOCK_WAIT) == ("500ms", "500ms")
    with sessions() as session:  # the same pooled connection: the timeouts ended with each transaction
        assert session.scalar(text("SHOW lock_timeout")) == "0"
        assert session.scalar(text("SHOW statement_timeout")) == "0"


def test_a_request_that_waits_past_its_deadline_for_a_lock_is_busy(postgres_engine, sessions):
    with postgres_engine.connect() as holder:
        holder.execute(text("LOCK TABLE partnership IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        with (
            pytest.raises(Busy),
            answering_by(started + 0.5),
            transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session,
        ):
            session.execute(select(Partnership.id)).all()
        waited = time.monotonic() - started
        holder.rollback()
    assert 0.3 < waited < 1.5, waited


def backend_of(sessions) -> int:
    with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
        return session.scalar(text("SELECT pg_backend_pid()"))


def terminate(postgres_engine, pid: int) -> None:
    """As PostgreSQL does to every connection when it restarts: the backend says
    so and closes its end. Returns once it is gone."""
    with postgres_engine.begin() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with postgres_engine.begin() as connection:
            gone = not connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        if gone:
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(postgres_engine, sessions):
    killed = backend_of(sessions)
    terminate(postgres_engine, killed)
    with sessions() as session:  # a plain read too (the health check), which has no retry of its own
        assert session.scalar(text("SELECT pg_backend_pid()")) != killed
    with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
        session.execute(select(Partnership.id)).all()


def test_a_connection_that_dies_between_checkout_and_begin_is_replaced(
    pooled_engine, postgres_engine, sessions
):
    """The server closes the connection just after the pool checked it: BEGIN
    fails, before the caller did anything, and the transaction begins again on
    a fresh connection."""
    killed = backend_of(sessions)
    victims = [killed]

    def die_now(dbapi_connection, _record, _proxy) -> None:
        if victims and dbapi_connection.info.backend_pid == victims[0]:
            terminate(postgres_engine, victims.pop())

    event.listen(pooled_engine, "checkout", die_now)
    with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
        assert session.scalar(text("SELECT pg_backend_pid()")) != killed
    assert not victims, "the pooled connection was not the one used"


def action_list(sessions) -> str:
    """What the clerk sees of `/action list` (asserting it worked)."""
    reply = run(
        COMMANDS["/action"], "list", sessions=sessions, clock=MovableClock(DEMO_NOW), person_key="clerk"
    )
    assert reply.ok, reply.text
    return reply.text


def test_the_next_command_after_a_restart_is_answered(
    postgres_engine, postgres_demo, pooled_engine, sessions
):
    postgres_demo.restore(postgres_engine)
    assert "open actions" in action_list(sessions)
    with pooled_engine.connect() as connection:
        pooled = connection.connection.driver_connection
        assert pooled is not None
        pid = pooled.info.backend_pid
    terminate(postgres_engine, pid)
    assert "open actions" in action_list(sessions)


def test_a_commands_audit_entry_and_messages_go_with_its_commit(
    postgres_engine, postgres_demo, pooled_engine, sessions
):
    """What a change writes that nothing in it reads back (the update itself, its
    audit entry, its Home tab publish, its post) is sent with the COMMIT: one
    round trip for all five (storage.session.at_commit); the update's id was
    drawn with the first reads, and everything written names it."""
    postgres_demo.restore(postgres_engine)
    clock = MovableClock(DEMO_NOW)
    command = COMMANDS["/update"]

    def update(text_: str) -> None:
        reply = run(command, text_, sessions=sessions, clock=clock, slack_user_id="U0FIRE001")
        assert reply.ok and reply.posts, reply

    update("joint-commissioning green Started")  # the directory fills; this publish is sent below
    with transaction(sessions) as session:
        session.execute(text("UPDATE delivery SET status = 'sent'"))
    messages = sent(pooled_engine, lambda: update("joint-commissioning amber Pooled budget delayed"))
    trips = round_trips(messages)
    # BEGIN with its question; the workstream with its state and the update's id; the rest
    assert len(trips) == 3, trips
    syncs = [i for i, (kind, _) in enumerate(messages) if kind == "Sync"]
    last = messages[syncs[-2] + 1 : syncs[-1]]  # what the last round trip sent
    parsed = [re.findall(r"[A-Za-z_]+", statement)[:3] for kind, statement in last if kind == "Parse"]
    assert parsed == [
        ["INSERT", "INTO", "update"],
        ["INSERT", "INTO", "audit_entry"],
        ["INSERT", "INTO", "delivery"],
        ["INSERT", "INTO", "delivery"],
        ["COMMIT"],
    ], parsed
    with transaction(sessions) as session:
        waiting = session.execute(
            text("SELECT kind FROM delivery WHERE status = 'pending' ORDER BY id")
        ).scalars()
        assert list(waiting) == ["home", "channel"]
        assert session.scalar(text("SELECT count(*) FROM audit_entry WHERE what = 'update.post'")) == 2
        newest = session.scalar(text('SELECT max(id) FROM "update"'))
        key = session.scalar(text("SELECT key FROM delivery WHERE kind = 'channel' AND status = 'pending'"))
        assert key == f"update:{newest}"
        audited = session.scalar(text("SELECT after FROM audit_entry ORDER BY id DESC LIMIT 1"))
        assert audited["update"] == newest


def test_a_kept_connection_the_server_closed_is_replaced_before_the_next_command(
    postgres_engine, postgres_demo, pooled_engine, sessions
):
    postgres_demo.restore(postgres_engine)

    def answering() -> None:
        with keeping_connections():
            assert "open actions" in action_list(sessions)
            killed = backend_of(sessions)
            assert backend_of(sessions) == killed  # kept: the same connection each time
            terminate(postgres_engine, killed)
            assert "open actions" in action_list(sessions)
            assert backend_of(sessions) != killed

    in_a_thread_of_its_own(answering)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Which load is the latest, asked with the count and the rows of the actions.
        ("/action list", 1),
        ("/meeting next", 1),  # with the meeting and its apologies
        ("/agenda", 1),  # with the meeting, those around it and its items
        # BEGIN and the question with the workstream, its state and the update's id; the
        # rest (the update too) with COMMIT.
        ("/update joint-commissioning amber Pooled budget delayed", 2),
        # BEGIN and the question with the meeting and an apology sent before; the rest
        # with COMMIT.
        ("/apologies 21/04/2015 On leave", 2),
    ],
)
def test_a_command_s_round_trips_on_a_connection_its_thread_keeps(
    postgres_engine, postgres_demo, sessions, line, expected
):
    """As serve's threads answer Slack: what only reads has no BEGIN and no
    COMMIT, reads that do not wait on each other go together, and the question of
    which load is the latest goes with the first of them (services/directory.py)."""
    postgres_demo.restore(postgres_engine)
    clock = MovableClock(DEMO_NOW)
    name, _, text_ = line.partition(" ")
    messages: list[tuple[str, str]] = []

    def command() -> None:
        reply = run(COMMANDS[name], text_, sessions=sessions, clock=clock, slack_user_id="U0FIRE001")
        assert reply.ok, reply.text

    def answering() -> None:
        with keeping_connections():
            command()  # this thread's copies of the directory fill
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                driver = session.connection().connection.driver_connection
            messages.extend(traced(driver, command))

    in_a_thread_of_its_own(answering)
    trips = round_trips(messages)
    assert len(trips) == expected, trips
    reads_only = COMMANDS[name].only_reads(text_)
    # The connection holds its settings from the transaction before: nothing set again.
    first = messages[: next(i for i, (kind, _) in enumerate(messages) if kind in ROUND_TRIP)]
    asked = [sent_ for kind, sent_ in first if kind == "Parse"]
    if reads_only:
        assert "partnership_load" in asked[0] and len(asked) > 1, first
    else:  # nothing read before BEGIN, nothing before the question
        assert "BEGIN READ WRITE" in asked[0] and "partnership_load" in asked[1] and len(asked) > 2, first
    assert reads_only == all("COMMIT" not in sent_ for _, sent_ in messages), messages


def reload_clerk(engine, clock, **changes) -> None:
    """The demo file loaded again with the clerk changed, as `partnerbot load`
    would from another process (a connection of its own)."""
    data = read_file(DEMO_FILE)
    next(person for person in data["people"] if person["id"] == "clerk").update(changes)
    with transaction(make_session_factory(engine)) as session:
        load(session, data, now=clock.now())


@pytest.mark.parametrize(
    ("typist", "changes", "seen"),
    [
        ("U0CLERK01", {"name": "Jess Marland-Evans"}, "Jess Marland-Evans"),  # the reply read afresh
        ("U0CLERK02", {"slack": "U0CLERK02"}, "open actions"),  # refused on what was remembered
    ],
    ids=["renamed", "slack account changed"],
)
def test_a_load_since_a_threads_last_command_is_seen_by_its_next(
    postgres_engine, postgres_demo, sessions, typist, changes, seen
):
    """What only reads goes on the partnership and person the thread remembers,
    asking which load is the latest with its first reads (or, refused before any,
    as it ends); a load since means the command runs again, on what the file says
    now."""
    postgres_demo.restore(postgres_engine)
    clock = MovableClock(DEMO_NOW)
    replies: list[str] = []
    messages: list[tuple[str, str]] = []

    def action_list() -> None:
        reply = run(COMMANDS["/action"], "list", sessions=sessions, clock=clock, slack_user_id=typist)
        replies.append("\n".join([reply.text, *(section.text for section in reply.sections)]))

    def answering() -> None:
        with keeping_connections():
            action_list()
            action_list()  # remembered: the thread's copies, checked with the reads
            assert "not in the partnership file" in replies[-1] or "Jess Marland" in replies[-1]
            reload_clerk(postgres_engine, clock, **changes)
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                driver = session.connection().connection.driver_connection
            messages.extend(traced(driver, action_list))

    in_a_thread_of_its_own(answering)
    assert seen in replies[-1], replies[-1]
    trips = round_trips(messages)
    # The try on what was remembered, found out of date; then the question alone,
    # the partnership and the person read afresh, and the reads.
    assert len(trips) == 5 and trips[1] == f'"{LATEST_LOAD}"', trips


@pytest.mark.parametrize(
    ("typist", "changes", "seen"),
    [
        ("U0CLERK01", {"name": "Jess Marland-Evans"}, "Jess Marland-Evans"),  # audited afresh
        ("U0CLERK02", {"slack": "U0CLERK02"}, "Jess Marland"),  # a stranger until the load
    ],
    ids=["renamed", "slack account changed"],
)
def test_a_load_since_a_threads_last_change_is_seen_by_its_next(
    postgres_engine, postgres_demo, sessions, typist, changes, seen
):
    """A change goes on what the thread remembers too: its BEGIN and the question
    go with its first reads, or before its first statement of another kind, and
    a load since means it is rolled back before anything is written, and made
    again on what the file says now."""
    postgres_demo.restore(postgres_engine)
    clock = MovableClock(DEMO_NOW)
    replies: list[str] = []
    messages: list[tuple[str, str]] = []

    def apologise(n: int) -> None:
        reply = run(
            COMMANDS["/apologies"],
            f"21/04/2015 On leave, try {n}",
            sessions=sessions,
            clock=clock,
            slack_user_id=typist,
        )
        replies.append(reply.text)

    def answering() -> None:
        with keeping_connections():
            apologise(1)
            apologise(2)  # remembered: the thread's copies, checked with the first reads
            reload_clerk(postgres_engine, clock, **changes)
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                driver = session.connection().connection.driver_connection
            messages.extend(traced(driver, lambda: apologise(3)))

    in_a_thread_of_its_own(answering)
    assert "pologies" in replies[-1] and "not in the partnership file" not in replies[-1], replies
    with transaction(sessions) as session:
        said = session.execute(
            text("SELECT actor, after->>'reason' FROM audit_entry WHERE what LIKE 'apology.%' ORDER BY id")
        ).all()
        reason = session.scalar(text("SELECT reason FROM apology ORDER BY updated_at DESC LIMIT 1"))
    assert said[-1][0].startswith(seen), said
    assert reason == "On leave, try 3"
    if typist == "U0CLERK02":  # refused twice before the load, on what the file said then
        assert ["not in the partnership file" in reply for reply in replies] == [True, True, False]
        assert len(said) == 1
    trips = round_trips(messages)
    # The try on what was remembered, found out of date and rolled back; then BEGIN
    # with the question alone, the partnership and the person read afresh, the
    # reads, and the rest with COMMIT.
    assert trips[1] == '"ROLLBACK"' and LATEST_LOAD in trips[2], trips


@contextmanager
def a_change_waiting_for_its_question(sessions) -> Iterator[Session]:
    """A transaction that writes, on a connection this thread keeps (its settings
    held already), whose BEGIN and first question wait to go with its first reads."""
    with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT):
        pass  # the kept connection's settings are held from now on
    with transaction(
        sessions, lock_wait=REQUEST_LOCK_WAIT, ask_first=LATEST_LOAD, answer_later=True
    ) as session:
        assert first_pending(session)
        yield session


class Refused(Exception):
    pass


@pytest.mark.parametrize("refused", [False, True], ids=["writing", "refused before any statement"])
def test_a_change_made_on_an_answer_expected_is_undone_if_the_answer_differs(
    postgres_engine, postgres_demo, sessions, refused
):
    """A transaction that writes, going on the answer it expects to its first
    question (`expect_first`), is stopped with FirstAnswerChanged before any
    statement of its own is sent when the answer differs; one that ends on an
    error before sending any has the question asked as it ends, and its error
    becomes the cause (a refusal made on what was expected is made again)."""
    postgres_demo.restore(postgres_engine)
    stopped: list[FirstAnswerChanged] = []

    def answering() -> None:
        with keeping_connections():
            try:
                with a_change_waiting_for_its_question(sessions) as session:
                    expect_first(session, "not the latest load")
                    if refused:
                        raise Refused("refused on what was expected")
                    session.execute(text("UPDATE partnership SET name = 'Changed on an old answer'"))
            except FirstAnswerChanged as changed:
                stopped.append(changed)

    in_a_thread_of_its_own(answering)
    assert len(stopped) == 1
    assert isinstance(stopped[0].__cause__, Refused) == refused
    with transaction(sessions) as session:
        assert session.scalar(text("SELECT name FROM partnership")) != "Changed on an old answer"


def test_a_first_question_waiting_with_begin_is_asked_inside_a_pipeline_too(
    postgres_engine, postgres_demo, sessions
):
    """A pipeline takes one statement a query: the BEGIN and the question that
    waited for a change's first reads go as two when asked inside one."""
    postgres_demo.restore(postgres_engine)
    found: list[object] = []

    def answering() -> None:
        with keeping_connections(), a_change_waiting_for_its_question(sessions) as session:
            driver = session.connection().connection.driver_connection
            with driver.pipeline():
                found.append(first_answer(session))
            found.append(session.scalar(text("SHOW transaction_read_only")))

    in_a_thread_of_its_own(answering)
    with transaction(sessions) as session:
        latest = session.scalar(text(LATEST_LOAD))
    assert found == [latest, "off"]


def test_a_kept_connection_is_given_its_settings_once_and_keeps_them_through_a_rollback(
    postgres_engine, postgres_demo, sessions
):
    """A SET costs the server as much as a small read: a kept connection is set
    read-only with the request's timeouts once, and then each read sends only
    its own statements and each write BEGIN READ WRITE; a write rolled back
    leaves the next read still refused any write and still bounded in time."""
    postgres_demo.restore(postgres_engine)
    firsts: list[list[str]] = []

    def read() -> None:
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
            assert session.scalar(text("SHOW transaction_read_only")) == "on"
            assert session.scalar(text("SHOW lock_timeout")) == "2s"
            assert session.scalar(text("SHOW statement_timeout")) == "2s"

    def write(fail: bool) -> None:
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
            assert session.scalar(text("SHOW transaction_read_only")) == "off"
            assert session.scalar(text("SHOW lock_timeout")) == "2s"
            if fail:
                raise RuntimeError("the change failed")

    def answering() -> None:
        with keeping_connections():
            read()
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
                driver = session.connection().connection.driver_connection
            for work in (read, lambda: write(False), read, lambda: pytest.raises(RuntimeError, write, True)):
                firsts.append(round_trips(traced(driver, work))[:1])
            read()

    in_a_thread_of_its_own(answering)
    assert firsts == [
        ['"SHOW transaction_read_only"'],
        ['"BEGIN READ WRITE"'],
        ['"SHOW transaction_read_only"'],
        ['"BEGIN READ WRITE"'],
    ], firsts
