"""The floor that bench/ack.py measures beside each command (`Floor`): the bare
app's read is one query, and its write a row committed, there for any other
connection to see, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from bench.ack import Floor


def test_the_floor_reads_and_commits_what_it_writes(database_url, engine) -> None:
    floor = Floor(database_url)
    try:
        floor.read()
        floor.write("Leave booked")
        floor.write("Leave booked, 'quoted'; and more")
        with engine.connect() as connection:  # another connection: committed, not merely sent
            said = connection.execute(text("SELECT said FROM bench_floor ORDER BY id")).scalars().all()
        assert said == ["Leave booked", "Leave booked, 'quoted'; and more"]
    finally:
        floor.close()
        with engine.begin() as connection:  # the test database holds the models' tables only
            connection.execute(text("DROP TABLE IF EXISTS bench_floor"))
