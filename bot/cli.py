"""`partnerbot`: serve, worker, console, load, jobs run-due, deliveries, db upgrade."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from bot import logs, processes
from bot.settings import Settings, SettingsError
from bot.settings import load as load_settings
from bot.settings import workers as workers_setting
from services.clock import Clock, MovableClock, SystemClock
from storage import migrate
from storage.session import make_engine, make_session_factory, transaction

if TYPE_CHECKING:
    from storage.models import Person

log = logging.getLogger("partnerbot")

# The demo partnership's story starts a week before the April 2015 board.
DEMO_NOW = datetime(2015, 4, 13, 9, 0, tzinfo=ZoneInfo("Europe/London"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        logs.configure(settings.log_level)
        return args.run(args, settings)
    except SettingsError as error:
        print(f"partnerbot: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partnerbot", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="Slack over HTTP (or Socket Mode), feeds, /healthz, scheduler")
    serve.add_argument("--port", type=int, help="default: PORT, else 3000")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--no-scheduler", action="store_true", help="leave reminders to `partnerbot worker`")
    serve.add_argument(
        "--workers", metavar="N", help="processes answering HTTP (default: WEB_CONCURRENCY, else 1)"
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="the scheduler and deliveries alone")
    worker.set_defaults(run=_worker)

    console = commands.add_parser("console", help="the commands typed in a terminal")
    console.add_argument(
        "--as", dest="person", metavar="PERSON", help="a person id from the partnership file"
    )
    console.add_argument("--demo", action="store_true", help="load the bundled example partnership")
    console.set_defaults(run=_console)

    load = commands.add_parser("load", help="create or update everything in a partnership file")
    load.add_argument("file", type=Path)
    load.set_defaults(run=_load)

    jobs = commands.add_parser("jobs", help="scheduled work").add_subparsers(required=True, metavar="JOB")
    run_due = jobs.add_parser("run-due", help="run everything due at an instant, then exit")
    run_due.add_argument("--now", type=_instant, help="e.g. 2015-02-18T09:00 (partnership time); default now")
    run_due.set_defaults(run=_run_due)

    deliveries = commands.add_parser("deliveries", help="messages not yet sent, and failed ones to replay")
    deliveries.add_argument("--failed", action="store_true", help="only the failed ones")
    deliveries.set_defaults(run=_deliveries)
    retry = deliveries.add_subparsers(metavar="ACTION").add_parser(
        "retry", help="queue failed messages again"
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", help="the message's key, as `partnerbot deliveries` lists it")
    which.add_argument("--all-failed", action="store_true", help="every failed message")
    retry.set_defaults(run=_retry)

    db = commands.add_parser("db", help="the database").add_subparsers(required=True, metavar="ACTION")
    upgrade = db.add_parser("upgrade", help="apply migrations")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2015-02-18T09:00") from None


def _sessions(settings: Settings, *, upgrade: bool, connections: int | None = None):
    engine = _answering(make_engine(settings.database_url, connections=connections))
    if upgrade:
        migrate.upgrade(engine)
    else:
        _require_current(engine)
    return make_session_factory(engine)


def _answering(engine: Engine) -> Engine:
    """`engine`, once it has connected: a database it cannot connect to at
    start-up stops it with one line, as a bad setting does, not a traceback."""
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        where = engine.url.render_as_string(hide_password=True)
        raise SettingsError(f"DATABASE_URL: cannot connect to the database at {where}: {reason}") from None
    return engine


def _require_current(engine) -> None:
    if not migrate.is_current(engine):
        raise SettingsError("DATABASE_URL: the database is not up to date; run `partnerbot db upgrade`")


def _db_upgrade(args, settings: Settings) -> int:
    migrate.upgrade(_answering(make_engine(settings.database_url)))
    print("partnerbot: database is up to date")
    return 0


def _load(args, settings: Settings) -> int:
    from storage.partnership_file import PartnershipFileError, load, read_file

    sessions = _sessions(settings, upgrade=True)
    try:
        data = read_file(args.file)
        with transaction(sessions) as session:
            now = SystemClock().now()
            result = load(session, data, now=now)
            links = _group_feeds(session, settings, now)
            invited, uninvited = _invitations(session, settings, result, now)
    except PartnershipFileError as error:
        print(f"partnerbot: {args.file} was not loaded; nothing was changed:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    issued = f"; issued calendar links for {_rows(links, 'group')}" if links else ""
    print(f"partnerbot: loaded {args.file}: {_summary(result)}{issued}")
    if invited:
        print(
            f"partnerbot: e-mailed {_rows(invited, 'calendar invitation')} to people new to a group, "
            "for the meetings of it ahead already sent to its members"
        )
    if uninvited:
        print(
            f"partnerbot: e-mailed {_rows(uninvited, 'calendar cancellation')} to people no longer "
            "in a group, for the meetings of it ahead they were invited to"
        )
    for who, refs in result.owners_left.items():
        print(
            f"partnerbot: {who} has left (not in the file) but still owns {', '.join(refs)}, "
            f"whose reminders now go to the officers: `/action assign {refs[0]} WHO` gives an "
            "action to someone else"
        )
    return 0


def _group_feeds(session, settings: Settings, now) -> int:
    """Calendar links for the groups that have none, where this installation
    publishes feeds: `/meeting next` shows them, and only reads."""
    from services import feed_tokens, groups

    if not settings.public_base_url or not settings.feed_secret:
        return 0
    secret = settings.feed_secret.reveal().encode()
    return feed_tokens.issue_for_groups(session, groups=groups.every(session), secret=secret, now=now)


def _invitations(session, settings: Settings, result, now) -> tuple[int, int]:
    """With e-mail set up, people put in a group are sent the invitations its
    members were sent for its meetings ahead, and people taken out of one have
    those they were sent taken out of their calendars (services.invites)."""
    from services import invites

    if settings.smtp is None:
        return 0, 0
    invited = sum(
        invites.invite_newcomers(session, people=people, group_id=group_id, now=now)
        for group_id, people in _by_group(session, result.into_groups).items()
    )
    uninvited = sum(
        invites.uninvite(session, people=people, group_id=group_id, now=now)
        for group_id, people in _by_group(session, result.out_of_groups).items()
    )
    return invited, uninvited


def _by_group(session, memberships: list[tuple[int, int]]) -> dict[int, list[Person]]:
    """(person id, group id) pairs as each group's people."""
    from storage.models import Person

    people: dict[int, list[Person]] = {}
    for person_id, group_id in memberships:
        people.setdefault(group_id, []).append(session.get_one(Person, person_id))
    return people


def _summary(result) -> str:
    """`created 23 people, 36 meetings; updated 1 meeting`: what a load changed."""
    if not result.changed:
        return "nothing changed"
    said = []
    for done, counts in (
        ("created", result.created),
        ("updated", result.updated),
        ("removed", result.removed),
    ):
        rows = [_rows(n, kind) for kind, n in sorted(counts.items()) if n]
        if rows:
            said.append(f"{done} {', '.join(rows)}")
    return "; ".join(said)


_PLURALS = {"person": "people", "apology": "apologies"}


def _rows(n: int, kind: str) -> str:
    """`1 person`, `23 people`, `2 apologies`, `21 workstream members`: a count of a table's rows."""
    name = kind.replace("_", " ")
    if n != 1:
        name = _PLURALS.get(name, f"{name}s")
    return f"{n} {name}"


def _console(args, settings: Settings) -> int:
    from bot.commands.core import Site
    from bot.console import Console
    from storage.partnership_file import load, read_file

    if "LOG_LEVEL" not in os.environ:
        # The console shows what each post says as it goes; the delivery path's
        # INFO lines would only repeat it, stamped with the real time, not the console's.
        logs.configure("WARNING")
    sessions = _sessions(settings, upgrade=True)
    clock = MovableClock(DEMO_NOW if args.demo else SystemClock().now())
    if args.demo:
        demo = resources.files("storage") / "examples" / "chorley.yaml"
        with resources.as_file(demo) as path, transaction(sessions) as session:
            load(session, read_file(path), now=clock.now())
            _group_feeds(session, settings, clock.now())
    person = args.person or ("clerk" if args.demo else None)
    Console(sessions=sessions, clock=clock, person_key=person, site=Site.from_settings(settings)).loop()
    return 0


def _run_due(args, settings: Settings) -> int:
    from bot.jobs.run_due import run_due
    from bot.outbound import senders

    settings.require_bot_token("jobs run-due")
    sessions = _sessions(settings, upgrade=False)
    clock: Clock = SystemClock()
    if args.now is not None:
        at = args.now
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(_zone_name(sessions)))
        clock = MovableClock(at)
    outcome = run_due(
        sessions=sessions, clock=clock, sender=senders(settings, sessions=sessions, clock=clock)
    )
    print(f"partnerbot: sent {outcome.sent}, retrying {outcome.retrying}, failed {outcome.failed}")
    return 0


def _deliveries(args, settings: Settings) -> int:
    from services import outbox

    sessions = _sessions(settings, upgrade=False)
    with sessions() as session:
        rows = outbox.undelivered(session, failed_only=args.failed)
    if not rows:
        print("partnerbot: no failed messages" if args.failed else "partnerbot: nothing waiting to be sent")
        return 0
    for row in rows:
        when = (
            f"next try {row.next_attempt_at:%Y-%m-%d %H:%M}Z"
            if row.status == "pending"
            else f"was due {row.due_at:%Y-%m-%d %H:%M}Z"
        )
        error = f"  last error: {row.last_error}" if row.last_error else ""
        print(
            f"{row.status:<8} {row.key}  {row.kind} to {row.target}  {when}  attempts {row.attempts}{error}"
        )
    return 0


def _retry(args, settings: Settings) -> int:
    from services import outbox

    sessions = _sessions(settings, upgrade=False)
    with sessions() as session, session.begin():
        queued = outbox.requeue(
            session, now=SystemClock().now(), keys=None if args.all_failed else [args.key]
        )
    if not queued and args.all_failed:
        print("partnerbot: no failed messages: nothing to queue again")
        return 0
    if not queued:
        print(f"partnerbot: no failed message has the key {args.key!r}", file=sys.stderr)
        return 1
    print(f"partnerbot: queued {queued} message{'s' if queued != 1 else ''} again")
    return 0


def _worker(args, settings: Settings) -> int:
    from bot.jobs.schedule import create_scheduler
    from bot.outbound import senders

    settings.require_bot_token("worker")
    sessions = _sessions(settings, upgrade=False)
    clock = SystemClock()
    scheduler = create_scheduler(
        sessions=sessions,
        clock=clock,
        sender=senders(settings, sessions=sessions, clock=clock),
        timezone=_zone_name(sessions),
        blocking=True,
    )
    log.info("worker started")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


def _serve(args, settings: Settings) -> int:
    from bot import server  # everything a worker needs, imported before any fork

    settings.require_slack()
    workers = (
        settings.web_concurrency if args.workers is None else workers_setting(args.workers, name="--workers")
    )
    if workers > 1 and settings.slack_app_token:
        raise SettingsError(
            "--workers/WEB_CONCURRENCY: Socket Mode (SLACK_APP_TOKEN) is one websocket; serve it with 1 worker"
        )
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        log.warning(
            "serving in one process: on SQLite, processes wait for each other's writes longer "
            "than threads of one process do; use PostgreSQL for more (docs/running.md)",
            extra={"workers_asked": workers},
        )
        workers = 1
    checked = make_engine(settings.database_url)  # once, before any worker starts, and gone before a fork
    try:
        _require_current(_answering(checked))
    finally:
        checked.dispose()
    host, port = args.host, args.port or settings.port
    listener = processes.listen(host, port, shared=workers > 1)
    server.settle()  # what is alive now stays shared, page for page, with the children
    # Messages are sent by a process of their own, woken through a pipe by the
    # processes that answer requests: sending in a thread beside them took the
    # interpreter from the next request (bench/README.md).
    sending = processes.Wakeup()

    def sender() -> int:
        listener.close()
        return _send_process(settings, sending)

    def worker() -> int:  # each listens on a socket of its own: the kernel spreads connections
        listener.close()
        shared = processes.listen(host, port, shared=True)
        return _serve_process(args, settings, shared, scheduler=False, sending=sending)

    children = dict.fromkeys(processes.fork_workers(1, sender), "the sending process")
    children |= dict.fromkeys(processes.fork_workers(workers - 1, worker), "a worker")
    return processes.supervise(
        lambda: _serve_process(args, settings, listener, scheduler=not args.no_scheduler, sending=sending),
        children,
    )


def _send_process(settings: Settings, sending: processes.Wakeup) -> int:
    """serve's sending process: the one delivery path (bot/jobs/deliveries.py),
    woken by `sending` whenever a command queues a message, until SIGTERM."""
    from bot.jobs.deliveries import DeliveryWorker
    from bot.outbound import senders

    processes.name_process(SENDER_NAME)
    os.nice(SENDER_NICENESS)
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # for sigwait below, in every thread
    sessions = make_session_factory(make_engine(settings.database_url, connections=2))
    clock = SystemClock()
    deliveries = DeliveryWorker(
        sessions, clock, senders(settings, sessions=sessions, clock=clock), wakeup=sending
    )
    deliveries.start()
    signal.sigwait(stop)
    deliveries.stop()
    return 0


SENDER_NAME = "partnerbot-send"  # as ps shows serve's sending process
# The answering processes come first for the CPU: a message waits a moment
# longer so that no acknowledgement does (bench/ack.py, /update with 16 clients).
SENDER_NICENESS = 10


def _serve_process(
    args, settings: Settings, listener: socket.socket, *, scheduler: bool, sending: processes.Wakeup
) -> int:
    """One process answering HTTP on `listener`: its own engine, sessions and
    Bolt app, waking the sending process through `sending`; and the scheduler if
    `scheduler` (its runs send what they queue themselves)."""
    import uvicorn

    from bot.jobs.schedule import create_scheduler
    from bot.server import CONNECTIONS, build, settle

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_signal)
    # The database's version was checked before the workers started.
    sessions = make_session_factory(make_engine(settings.database_url, connections=CONNECTIONS))
    clock = SystemClock()
    service = build(settings=settings, sessions=sessions, clock=clock, on_queued=sending.set)
    jobs = None
    if scheduler:
        jobs = create_scheduler(
            sessions=sessions, clock=clock, sender=service.deliveries.sender, timezone=_zone_name(sessions)
        )
    service.identity.start()
    if jobs:
        jobs.start()
    if service.socket_mode:
        service.socket_mode.connect()
    settle()
    log.debug("worker answering", extra={"pid": os.getpid()})
    # log_config None: uvicorn's lines (its start, each request) go out as every other,
    # one line each in bot/logs.py's format, rather than in uvicorn's own.
    web = uvicorn.Server(uvicorn.Config(service.web, log_level=settings.log_level.lower(), log_config=None))
    _running.append(web)
    try:
        web.run(sockets=[listener])
    finally:
        if service.socket_mode:
            service.socket_mode.close()
        if jobs:
            jobs.shutdown(wait=False)
        service.identity.stop()
    return 0


# The uvicorn server of this process, once it runs: what a signal or a dead worker stops.
_running: list = []


def _stop_signal(signum: int, frame) -> None:
    """SIGTERM or SIGINT before uvicorn runs stops the process; while it runs,
    uvicorn's own handler stops it gracefully, and raises the signal again once
    stopped: then it lands here and does nothing more, so that the delivery
    thread (and, in the parent, the workers) are stopped rather than cut off."""
    if not _running:
        raise SystemExit(0)
    _running[0].should_exit = True


def _zone_name(sessions) -> str:
    from services import partnership as partnership_service
    from services.errors import UserError

    try:
        with sessions() as session:
            return partnership_service.get(session).timezone
    except UserError:
        return "Europe/London"


if __name__ == "__main__":
    sys.exit(main())
