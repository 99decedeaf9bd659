import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, TimestampMixin, enum_check
from webapp.models.users import User


class MemberRole(enum.StrEnum):
    MANAGER = "manager"
    EVALUATOR = "evaluator"


class Campaign(TimestampMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (sa.CheckConstraint("closes_at > opens_at", name="dates_ordered"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    label: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    description: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    opens_at: orm.Mapped[datetime]
    closes_at: orm.Mapped[datetime] = orm.mapped_column(index=True)
    published: orm.Mapped[bool] = orm.mapped_column(default=True)
    created_by_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    members: orm.Mapped[list["CampaignMember"]] = orm.relationship(
        back_populates="campaign", cascade="all, delete-orphan"
    )

    def is_open(self, at: datetime) -> bool:
        return self.published and self.opens_at <= at < self.closes_at

    def member_users(self, role: MemberRole) -> list[User]:
        return [m.user for m in self.members if m.role == role]

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.label!r}>"


class CampaignMember(Base):
    """A manager or evaluator assigned to a campaign."""

    __tablename__ = "campaign_members"
    __table_args__ = (enum_check("role", MemberRole),)

    campaign_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: orm.Mapped[str] = orm.mapped_column(sa.String(20), primary_key=True)

    campaign: orm.Mapped[Campaign] = orm.relationship(back_populates="members")
    user: orm.Mapped[User] = orm.relationship()
