"""Sixteen signed Slack clients typing commands and pressing buttons at once.

    .venv/bin/python -m bench.load --seconds 60
    .venv/bin/python -m bench.load --seconds 60 --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

It starts `partnerbot serve` as a real process (scheduler off, sending process on)
over the demo partnership, pointed at the local Slack stand-in
(tests/slack/fake_api.py), adds two board meetings ahead of today, then for
`--seconds` each client, one board member, repeats a mix: `/action add` (each with
a unique what), `/action list`, `/action done` of one it added, `/apologies DATE
REASON`, `/apologies withdraw DATE`, `/meeting next`, `/agenda`; the leads
`/update joint-commissioning TEXT`; the officers `/agenda add TITLE`; and Done or
Snooze pressed on the list's buttons, some twice. It prints how many of each,
the errors, and acknowledgement percentiles; then checks that no write was lost
and no message went twice. tests/test_load.py runs a short version of the same.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-000000000000"
TOKEN = "xoxb-bench"
BUDGET = 3.0  # seconds: SPEC 8, every acknowledgement within them
BOARD_CHANNEL = "CBOARD001"
WORKSTREAM = "joint-commissioning"
# Board members with a Slack id in the demo partnership, and what each may do.
MEMBERS = [
    "U0CHAIR01", "U0OPPOS01", "U0DIGI001", "U0HLTH001", "U0CEXEC01", "U0CCLLR01", "U0VCFS001",
    "U0DWP0001", "U0LCFT001", "U0LTHTR01", "U0POLICE1", "U0COLL001", "U0POLICY1", "U0CLERK01",
    "U0FIRE001", "U0CCG0001",
]  # fmt: skip
OFFICERS = {"U0CLERK01", "U0POLICY1"}
LEADS = {"U0FIRE001", "U0CCG0001"}  # of joint-commissioning
ADDED = re.compile(r"^Added \*(A\d+)\* (.+?) — ")


@dataclass
class Exchange:
    """One request and its answer, as a client saw it."""

    kind: str  # e.g. "/action add", "press Done"
    status: int
    seconds: float
    text: str


@dataclass
class Record:
    """Everything the clients did and were told, for the checks afterwards."""

    exchanges: list[Exchange] = field(default_factory=list)
    added: dict[str, str] = field(default_factory=dict)  # what -> ref, from "Added A.." replies
    updates: list[str] = field(default_factory=list)  # the text of each update saved
    press_urls: list[str] = field(default_factory=list)  # the response_url of each first press
    failures: list[str] = field(default_factory=list)  # transport errors
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)


def _sign(body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }


class Client:
    """One person at a keyboard: a keep-alive connection and what they have added."""

    def __init__(self, base: str, user: str, response_base: str, record: Record, seed: int) -> None:
        self.base, self.user, self.record = base, user, record
        self.response_base = response_base
        self.http = httpx.Client(timeout=30)
        self.random = random.Random(seed)
        self.open_refs: list[str] = []
        self.count = 0

    def close(self) -> None:
        self.http.close()

    def post(self, kind: str, body: str) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = self.http.post(f"{self.base}/slack/events", content=body, headers=_sign(body))
        except httpx.HTTPError as error:
            with self.record.lock:
                self.record.failures.append(f"{kind}: {type(error).__name__}")
            return {}
        seconds = time.perf_counter() - started
        answer: dict[str, Any] = {}
        if response.status_code == 200 and response.content:
            answer = response.json()
        self.record.add(Exchange(kind, response.status_code, seconds, answer.get("text", "")))
        return answer

    def command(self, name: str, text: str, *, kind: str = "", channel: str = "C0GENERAL") -> dict[str, Any]:
        body = urlencode(
            {
                "token": "deprecated",
                "team_id": "T0TEAM001",
                "team_domain": "load",
                "channel_id": channel,
                "channel_name": "somewhere",
                "user_id": self.user,
                "user_name": self.user.lower(),
                "command": name,
                "text": text,
                "api_app_id": "A0APP0001",
                "is_enterprise_install": "false",
                "response_url": f"{self.response_base}commands/{self.user}",
                "trigger_id": "1.2.3",
            }
        )
        return self.post(kind or f"{name} {text.split(' ')[0]}".strip(), body)

    def press(self, listed: dict[str, Any], ref: str, label: str, twice: bool) -> None:
        blocks = listed.get("blocks") or []
        for index, block in enumerate(blocks[:-1]):
            if block.get("type") == "section" and f"*{ref}*" in block["text"]["text"]:
                actions = blocks[index + 1]
                break
        else:
            return
        [button] = [e for e in actions["elements"] if e["text"]["text"] == label]
        self.count += 1
        message_ts = f"{time.time():.6f}"
        response_url = f"{self.response_base}{self.user}/{self.count}"
        payload = {
            "type": "block_actions",
            "team": {"id": "T0TEAM001"},
            "user": {"id": self.user},
            "api_app_id": "A0APP0001",
            "trigger_id": "1.2.3",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": "D" + self.user},
            "channel": {"id": "D" + self.user},
            "response_url": response_url,
            "message": {"ts": message_ts, "text": listed.get("text", ""), "blocks": blocks},
            "actions": [
                {
                    "type": "button",
                    "block_id": actions["block_id"],
                    "action_id": button["action_id"],
                    "text": button["text"],
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        with self.record.lock:
            self.record.press_urls.append(response_url)
        body = urlencode({"payload": json.dumps(payload)})
        if twice and self.random.random() < 0.5:  # a double click: both presses at once
            other = threading.Thread(target=self.post_aside, args=(f"press {label}", body))
            other.start()
            self.post(f"press {label}", body)
            other.join()
            return
        for _ in range(2 if twice else 1):
            self.post(f"press {label}", body)

    def post_aside(self, kind: str, body: str) -> None:
        """The same as post, on a connection of its own."""
        aside = Client(self.base, self.user, self.response_base, self.record, 0)
        try:
            aside.post(kind, body)
        finally:
            aside.close()

    # -- the mix -----------------------------------------------------------------

    def step(self, meeting: str) -> None:
        choices = ["add", "add", "list", "done", "apologies", "withdraw", "next", "agenda"]
        if self.user in LEADS:
            choices += ["update", "update"]
        if self.user in OFFICERS:
            choices += ["agenda add"]
        getattr(self, "_" + self.random.choice(choices).replace(" ", "_"))(meeting)

    def _add(self, meeting: str) -> None:
        self.count += 1
        what = f"Load {self.user} {self.count} {self.random.randrange(10**9)}"
        answer = self.command("/action", f"add {what} | <@{self.user}> | in 3 weeks", kind="/action add")
        if match := ADDED.match(answer.get("text", "")):
            ref, said = match.groups()
            with self.record.lock:
                self.record.added[said] = ref
            self.open_refs.append(ref)

    def _list(self, meeting: str) -> None:
        listed = self.command("/action", "list")
        if self.open_refs and self.random.random() < 0.7:
            ref = self.open_refs.pop(self.random.randrange(len(self.open_refs)))
            label = self.random.choice(["Done", "Snooze a week"])
            self.press(listed, ref, label, twice=self.random.random() < 0.3)
            if label == "Snooze a week":
                self.open_refs.append(ref)

    def _done(self, meeting: str) -> None:
        if self.open_refs:
            ref = self.open_refs.pop(self.random.randrange(len(self.open_refs)))
            self.command("/action", f"done {ref}", kind="/action done")
        else:
            self._add(meeting)

    def _apologies(self, meeting: str) -> None:
        self.command("/apologies", f"{meeting} Clinic {self.random.randrange(1000)}", kind="/apologies")

    def _withdraw(self, meeting: str) -> None:
        self.command("/apologies", f"withdraw {meeting}")

    def _next(self, meeting: str) -> None:
        self.command("/meeting", "next", channel=BOARD_CHANNEL)

    def _agenda(self, meeting: str) -> None:
        self.command("/agenda", "", kind="/agenda", channel=BOARD_CHANNEL)

    def _agenda_add(self, meeting: str) -> None:
        self.count += 1
        self.command("/agenda", f"add Item {self.user} {self.count}", channel=BOARD_CHANNEL)

    def _update(self, meeting: str) -> None:
        self.count += 1
        text = f"Progress {self.user} {self.count} {self.random.randrange(10**9)}"
        answer = self.command("/update", f"{WORKSTREAM} green {text}", kind="/update")
        if answer.get("text", "").startswith("Saved"):
            with self.record.lock:
                self.record.updates.append(text)


def board_meetings(today: date) -> list[date]:
    """Two board meeting days ahead of `today`, far enough for agenda items to be open."""
    first = today + timedelta(days=21)
    return [first, first + timedelta(days=28)]


def prepare(base: str, response_base: str) -> str:
    """The clerk adds the board's next meetings; the first one's date, as typed."""
    days = board_meetings(datetime.now(UTC).date())
    record = Record()
    clerk = Client(base, "U0CLERK01", response_base, record, 0)
    try:
        answer = clerk.command(
            "/meeting", "add " + ", ".join(d.isoformat() for d in days), channel=BOARD_CHANNEL
        )
    finally:
        clerk.close()
    if "went wrong" in answer.get("text", "") or not answer:
        raise RuntimeError(f"the meetings were not added: {answer}")
    return days[0].isoformat()


def drive(base: str, response_base: str, *, seconds: float, clients: int = 16, seed: int = 1) -> Record:
    """`clients` threads, each one board member, for `seconds`."""
    meeting = prepare(base, response_base)
    record = Record()
    stop = time.monotonic() + seconds

    def person(n: int) -> None:
        client = Client(base, MEMBERS[n % len(MEMBERS)], response_base, record, seed * 1000 + n)
        try:
            while time.monotonic() < stop:
                client.step(meeting)
        finally:
            client.close()

    threads = [threading.Thread(target=person, args=(n,), name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return record


# -- what was done and whether it held ---------------------------------------------


def problems(record: Record) -> list[str]:
    """What the clients were told that breaks a promise: errors and late answers."""
    found = list(record.failures)
    for exchange in record.exchanges:
        if exchange.status != 200:
            found.append(f"{exchange.kind}: HTTP {exchange.status}")
        elif "went wrong" in exchange.text:
            found.append(f"{exchange.kind}: {exchange.text[:200]}")
        elif exchange.seconds >= BUDGET:
            found.append(f"{exchange.kind}: acknowledged after {exchange.seconds:.2f}s")
    return found


def percentiles(record: Record) -> dict[str, float]:
    times = sorted(e.seconds for e in record.exchanges)
    if len(times) < 2:
        return {}
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p90_ms": round(cuts[89] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def report(record: Record, seconds: float) -> str:
    counts = Counter(e.kind for e in record.exchanges)
    lines = [f"{kind:<22}{n:>7}" for kind, n in sorted(counts.items())]
    total = sum(counts.values())
    lines.append(f"{'all':<22}{total:>7}  ({total / seconds:.0f} a second)")
    lines.append(f"{'errors':<22}{len(problems(record)):>7}")
    lines += [f"{name:<22}{value:>7} ms" for name, value in percentiles(record).items()]
    return "\n".join(lines)


def losses(record: Record, sessions, slack) -> list[str]:
    """Writes a reply said were made and the database does not hold, and messages
    that did not arrive once: checked after the outbox has drained."""
    from sqlalchemy import select

    from storage.models import Action, AuditEntry, Delivery, Update

    found = []
    with sessions() as session:
        stored = dict(session.execute(select(Action.what, Action.number)).all())
        progress = set(session.scalars(select(Update.progress)))
        deliveries = session.execute(select(Delivery.key, Delivery.kind, Delivery.status)).all()
        done = Counter(session.scalars(select(AuditEntry.subject).where(AuditEntry.what == "action.done")))
    for what, ref in record.added.items():
        if f"A{stored.get(what)}" != ref:
            found.append(f"lost: {ref} {what!r}")
    found += [f"lost update: {text!r}" for text in record.updates if text not in progress]
    found += [f"{ref} done {n} times" for ref, n in done.items() if n != 1]
    found += [f"{key} ({kind}) is {status}" for key, kind, status in deliveries if status != "sent"]
    posts = slack.posts()
    keys = Counter(p.get("metadata", {}).get("event_payload", {}).get("key") for p in posts)
    found += [f"{key} posted {n} times" for key, n in keys.items() if n != 1]
    texts = Counter((p["channel"], p["text"]) for p in posts if not p["channel"].startswith("U"))
    found += [f"posted {n} times to {c}: {t[:80]!r}" for (c, t), n in texts.items() if n != 1]
    posted = "\n".join(p["text"] for p in posts)
    found += [f"update not posted: {text!r}" for text in record.updates if text not in posted]
    responded = Counter(
        call.path
        for call in slack.calls("response_url")
        if call.ok and call.params.get("replace_original") is True  # not "already pressed"
    )
    for url in record.press_urls:
        path = "/" + url.split("/", 3)[3]
        if responded[path] != 1:
            found.append(f"press answered {responded[path]} times at {path}")
    return found


def drained(sessions, timeout: float) -> bool:
    """Wait until the outbox holds nothing pending (the sending process has sent it)."""
    from sqlalchemy import func, select

    from storage.models import Delivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            if not session.scalar(select(func.count()).where(Delivery.status == "pending")):
                return True
        time.sleep(0.2)
    return False


# -- the benchmark as a command ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(
    database_url: str, slack_url: str, log: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`partnerbot serve` as a process; (process, base URL) once /healthz answers."""
    port = _free_port()
    environment = (
        os.environ
        | {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack_url,
            "LOG_LEVEL": "WARNING",
        }
        | (env or {})
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-scheduler",
        ],
        env=environment,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"partnerbot serve did not answer /healthz:\n{log.read_text()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--database", help="a PostgreSQL URL whose database is emptied and used; default a new SQLite file"
    )
    args = parser.parse_args(argv)

    from storage import migrate
    from storage.models import Base
    from storage.partnership_file import load, read_file
    from storage.session import make_engine, make_session_factory
    from tests.slack.fake_api import FakeSlackAPI

    work = Path(tempfile.mkdtemp(prefix="partnerbot-load-"))
    url = args.database or f"sqlite:///{work / 'load.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}" CASCADE')
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        load(session, read_file(ROOT / "storage" / "examples" / "chorley.yaml"), now=datetime.now(UTC))
    with FakeSlackAPI() as slack:
        process, base = serve(url, slack.url, work / "serve.log")
        try:
            record = drive(base, slack.url + "response/", seconds=args.seconds, clients=args.clients)
            print(report(record, args.seconds))
            found = [] if drained(sessions, timeout=120) else ["the outbox did not drain within 2 minutes"]
            found += problems(record) + losses(record, sessions, slack)
            if found:
                print(f"{len(found)} problems:")
                for problem in found[:20]:
                    print("  " + problem)
            else:
                print("no error, no write lost, no message twice")
        finally:
            process.terminate()
            process.wait(10)
    engine.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
