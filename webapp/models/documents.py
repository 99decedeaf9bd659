import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.applications import Application
from webapp.models.base import Base, utcnow
from webapp.models.campaigns import Campaign


class DocumentKind(enum.StrEnum):
    """The fixed list of file types a call may ask for (each checked by content)."""

    PDF = "pdf"
    IMAGE = "image"
    SPREADSHEET = "spreadsheet"
    WORD_PROCESSING = "word_processing"


class RequestedDocument(Base):
    """A document a campaign asks its candidates for (a CV, a budget, …)."""

    __tablename__ = "requested_documents"
    __table_args__ = (sa.CheckConstraint("max_size_mb > 0", name="max_size_positive"),
                      sa.Index("ix_requested_documents_campaign", "campaign_id", "position"))

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    campaign_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    name_fr: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    name_en: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    required: orm.Mapped[bool] = orm.mapped_column(default=True)
    kinds: orm.Mapped[str] = orm.mapped_column(sa.String(100))  # comma-separated DocumentKind
    max_size_mb: orm.Mapped[int] = orm.mapped_column(default=5)
    position: orm.Mapped[int] = orm.mapped_column(default=0)
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    campaign: orm.Mapped[Campaign] = orm.relationship()

    @property
    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]

    @property
    def max_bytes(self) -> int:
        return self.max_size_mb * 1024 * 1024

    def name_for(self, locale: str | None) -> str:
        return self.name_fr if (locale or "fr").startswith("fr") else self.name_en

    def __repr__(self) -> str:
        return f"<RequestedDocument {self.id} {self.name_en!r}>"


class ApplicationDocument(Base):
    """The file a candidate gave for one requested document (one per application and
    document; replacing it changes the row). The bytes are in storage, by sha256."""

    __tablename__ = "application_documents"
    __table_args__ = (sa.UniqueConstraint("application_id", "requested_document_id"),
                      sa.CheckConstraint("size > 0", name="size_positive"))

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    application_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    # The service refuses to delete a requested document that candidates answered.
    requested_document_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("requested_documents.id", ondelete="CASCADE"), index=True)
    sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64), index=True)
    filename: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    size: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    uploaded_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)

    application: orm.Mapped[Application] = orm.relationship()
    requested: orm.Mapped[RequestedDocument] = orm.relationship()

    def __repr__(self) -> str:
        return f"<ApplicationDocument {self.id} {self.filename!r}>"
