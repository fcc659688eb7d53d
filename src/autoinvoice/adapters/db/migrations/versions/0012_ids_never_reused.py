"""user and API key ids are never reused on SQLite (issue 7 review)

SQLite hands out the highest rowid + 1 for a plain INTEGER PRIMARY KEY, so after a delete
the next user (or key) got the removed one's id. AUTOINCREMENT needs the table rebuilt.
PostgreSQL sequences never reuse a value: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 15:40:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_KEY_COLUMNS = "id, user_id, name, prefix, key_hash, scopes, created_at, revoked_at"


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # the rebuild drops users, which api_keys points at, and foreign keys cannot be switched
    # off inside the migration's transaction: park the keys, rebuild both, put them back
    op.execute(f"CREATE TEMP TABLE _keys_0012 AS SELECT {_KEY_COLUMNS} FROM api_keys")
    op.execute("DELETE FROM api_keys")
    for name in ("users", "api_keys"):
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    op.execute(f"INSERT INTO api_keys ({_KEY_COLUMNS}) SELECT {_KEY_COLUMNS} FROM _keys_0012")
    op.execute("DROP TABLE _keys_0012")


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
