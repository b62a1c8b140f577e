"""Applying and checking migrations from code, so `partnerbot db upgrade`, the
console and the tests build the schema the same way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def check(url: str) -> None:
    """Upgrade `url` to head, then fail if the models hold anything the migrations do not."""
    from storage.session import make_engine

    engine = make_engine(url)
    upgrade(engine)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)
    engine.dispose()


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["--check"] or len(sys.argv) < 3:
        sys.exit("usage: python -m storage.migrate --check URL [URL ...]")
    for database in sys.argv[2:]:
        check(database)
        print(f"migrations match the models on {database.split(':', 1)[0]}")
