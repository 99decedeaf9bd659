from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp.models.base import Base, utcnow


class LetterTemplate(Base):
    """A letter ("courrier") rendered to PDF per application, in the reader's language."""

    __tablename__ = "letter_templates"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200), unique=True)
    default_locale: orm.Mapped[str] = orm.mapped_column(sa.String(8), default="fr")
    title_fr: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    title_en: orm.Mapped[str] = orm.mapped_column(sa.String(200), default="")
    body_fr: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    body_en: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    created_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow)
    updated_at: orm.Mapped[datetime] = orm.mapped_column(default=utcnow, onupdate=utcnow)

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
