"""Declarative base with a constraint naming convention so migrations diff cleanly."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.core import clock


def utcnow() -> datetime:
    """A column's default: the one clock, looked up at each call (a test may have moved it)."""
    return clock.now()


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    updated_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow, onupdate=utcnow)


def enum_check(column: str, enum_cls) -> sa.CheckConstraint:
    """A CHECK constraint keeping a string column within an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum_cls)
    return sa.CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")
