"""Throwaway PostgreSQL databases, shared by the test harness and the bench."""

import sqlalchemy as sa


def drop_database(admin: sa.Engine, name: str) -> None:
    """Drop the database `name` through `admin` (an AUTOCOMMIT engine on the same server).

    A plain DROP first: it also ends an autovacuum worker busy in the database (common after a
    large purge), which WITH (FORCE) may not do for a role that is not a superuser ("must be a
    member of the role whose process is being terminated"). FORCE only when one of this role's
    own connections was left open."""
    with admin.connect() as conn:
        try:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        except sa.exc.OperationalError:  # in use by a connection of ours
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
