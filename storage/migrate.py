"""Schema migrations (Alembic) and the start-up check that refuses a schema that is behind."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from storage.errors import StorageError
from storage.db import _ensure_sqlite_dir, is_sqlite, sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaBehindError(StorageError, RuntimeError):
    """The database schema is older than this code."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if is_sqlite(url):
        _ensure_sqlite_dir(sync_url(url))
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str) -> str | None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def check_current(url: str) -> None:
    """Raise SchemaBehindError, naming the command to run, unless the schema is at head."""
    current, head = current_revision(url), head_revision()
    if current != head:
        raise SchemaBehindError(
            f"数据库结构版本为 {current or '空'}，程序需要 {head}。请先运行：xiangzhu db upgrade\n"
            f"The database schema is at {current or 'nothing'}, this program needs {head}. "
            f"Run: xiangzhu db upgrade"
        )
