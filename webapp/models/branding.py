from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, utcnow


class Branding(Base):
    """How every email looks: the platform's name, an optional logo (its bytes, served by the
    platform itself), the postal address of its footer. One row, set by an administrator."""

    __tablename__ = "branding"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    platform_name: orm.Mapped[str] = orm.mapped_column(sa.String(100), default="")
    postal_address: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    logo: orm.Mapped[bytes | None] = orm.mapped_column(sa.LargeBinary)
    logo_type: orm.Mapped[str] = orm.mapped_column(sa.String(40), default="")
    # The logo's address changes with its bytes, so mail clients and caches never show an
    # old one.
    logo_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), default="")
    updated_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
