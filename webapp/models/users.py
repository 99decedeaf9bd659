import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import orm
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.models.base import Base, TimestampMixin, enum_check


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    EVALUATOR = "evaluator"
    CANDIDATE = "candidate"


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    # Stored lower-cased by services.users.normalize_email: unique case-insensitively.
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254), unique=True)
    first_name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    last_name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    password_hash: orm.Mapped[str] = orm.mapped_column(sa.String(256))
    locale: orm.Mapped[str | None] = orm.mapped_column(sa.String(8))
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    last_login_at: orm.Mapped[datetime | None]
    # None until the person follows the link sent to the address (or an admin vouches for it).
    email_confirmed_at: orm.Mapped[datetime | None]
    # When the last confirmation / reset email was queued: "send it again" is rate-limited.
    confirmation_sent_at: orm.Mapped[datetime | None]
    password_reset_sent_at: orm.Mapped[datetime | None]

    role_rows: orm.Mapped[list["UserRole"]] = orm.relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def roles(self) -> set[Role]:
        return {Role(row.role) for row in self.role_rows}

    def has_role(self, *roles: Role | str) -> bool:
        return bool(self.roles & {Role(r) for r in roles})

    @property
    def is_staff(self) -> bool:
        return self.has_role(Role.ADMIN, Role.MANAGER, Role.EVALUATOR)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str, method: str = "scrypt") -> None:
        """Hash with werkzeug's `method` (the service passes PASSWORD_HASH_METHOD)."""
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (enum_check("role", Role),)

    user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: orm.Mapped[str] = orm.mapped_column(sa.String(20), primary_key=True)

    user: orm.Mapped[User] = orm.relationship(back_populates="role_rows")


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its hash is stored, so the
    table cannot be replayed. Deleting the row ends the session whatever the cookie says."""

    __tablename__ = "user_sessions"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    token_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    user_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_address: orm.Mapped[str] = orm.mapped_column(sa.String(64), default="")
    created_at: orm.Mapped[datetime]
    last_seen_at: orm.Mapped[datetime]


class SignInThrottle(Base):
    """Counts per key, shared by every process through the database: sign-in attempts
    ("account:<email>", "trusted:<email>", "address:<ip>") and emails asked on someone's
    behalf ("mail-client:<ip>", "mail-to:<email>", where `blocked_until` ends the window)."""

    __tablename__ = "sign_in_throttles"

    key: orm.Mapped[str] = orm.mapped_column(sa.String(300), primary_key=True)
    failures: orm.Mapped[int] = orm.mapped_column(default=0)
    last_failure_at: orm.Mapped[datetime]
    blocked_until: orm.Mapped[datetime | None]
