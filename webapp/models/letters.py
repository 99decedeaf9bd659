import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, TimestampMixin


class LetterTemplate(TimestampMixin, Base):
    """A letter ("courrier") rendered to PDF per application, in the reader's language."""

    __tablename__ = "letter_templates"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), unique=True)
    default_locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="fr")
    title_fr: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    title_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    body_fr: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    body_en: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")

    def version_for(self, locale: str | None) -> tuple[str, str]:
        """(title, body) in `locale`, else in the default language."""
        chosen = "fr" if (locale or self.default_locale).startswith("fr") else "en"
        title, body = ((self.title_fr, self.body_fr) if chosen == "fr"
                       else (self.title_en, self.body_en))
        if not body.strip():
            title, body = ((self.title_fr, self.body_fr) if chosen == "en"
                           else (self.title_en, self.body_en))
        return title, body

    def __repr__(self) -> str:
        return f"<LetterTemplate {self.id} {self.name!r}>"


class EmailTemplateAttachment(Base):
    """What an email template attaches: a letter template (rendered per application), or the
    candidate's documents of one kind (DocumentKind)."""

    __tablename__ = "email_template_attachments"
    __table_args__ = (
        sa.CheckConstraint("(letter_template_id IS NULL) <> (document_kind IS NULL)",
                           name="one_source"),
        sa.UniqueConstraint("template_id", "letter_template_id", "document_kind"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    template_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("email_templates.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a letter still attached to an email cannot be deleted.
    letter_template_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("letter_templates.id", ondelete="RESTRICT"), index=True)
    document_kind: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))

    letter: orm.Mapped[LetterTemplate | None] = orm.relationship()


class OutboxAttachment(Base):
    """A file an outbox message carries, frozen when the message was queued: the bytes are
    in storage under `sha256`, so every attempt and every resend sends the same ones."""

    __tablename__ = "outbox_attachments"
    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_not_negative"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    message_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    position: orm.Mapped[int] = orm.mapped_column(default=0)
    sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64), index=True)
    filename: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    size: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    # Over the size budget (MAIL_MAX_MESSAGE_BYTES) the email carries a signed, expiring
    # download link to the file instead of the file.
    as_link: orm.Mapped[bool] = orm.mapped_column(default=False)
