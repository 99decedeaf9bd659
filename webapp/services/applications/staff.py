"""Applications seen by staff: which campaigns and applications they may see, the
list (a selection, sorted and cut in keyset pages), its CSV export, one application's history,
emails and skipped recipients. Read only."""

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from webapp import outbox
from webapp.core.errors import NotAllowed, NotFound
from webapp.core.paging import Page, Sort, keyset_page
from webapp.extensions import db
from webapp.models import (
    Application,
    Campaign,
    SkippedRecipient,
    Status,
    StatusChange,
    User,
)
from webapp.services import permissions

PAGE_SIZE = 50


REFERENCE_PREFIX = "MIS-"


def new_reference() -> str:
    """A short, unguessable application reference, e.g. MIS-K3VQ7ZP2."""
    return REFERENCE_PREFIX + base64.b32encode(secrets.token_bytes(5)).decode()


def campaigns_for_staff(user: User) -> list[Campaign]:
    """The campaigns whose applications this person may see."""
    query = sa.select(Campaign).order_by(Campaign.closes_at.desc(), Campaign.id.desc())
    campaigns = db.session.scalars(query).all()
    return [c for c in campaigns if permissions.can_view_campaign_applications(user, c)]


def campaign_for_staff(user: User, campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound()
    if not permissions.can_view_campaign_applications(user, campaign):
        raise NotAllowed()
    return campaign


def application_for_staff(user: User, application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    if not permissions.can_view_campaign_applications(user, application.campaign):
        raise NotAllowed()
    return application


@dataclass(frozen=True)
class Selection:
    """Which applications of a campaign: explicit ids, or every one matching a filter."""

    campaign_id: int
    ids: tuple[int, ...] = ()
    all_matching: bool = False
    status_id: int | None = None
    search: str = ""

    def where(self) -> list:
        clauses = [Application.campaign_id == self.campaign_id]
        if not self.all_matching:
            clauses.append(Application.id.in_(self.ids or (-1,)))
        if self.status_id:
            clauses.append(Application.status_id == self.status_id)
        if term := self.search.strip():
            if term.upper().startswith(REFERENCE_PREFIX):
                # A reference is found through its unique index, not by scanning names.
                clauses.append(Application.reference == term.upper())
            else:
                # Never correlated: the query around it may itself join users. autoescape:
                # "%" and "_" typed in the box are letters, not wildcards.
                clauses.append(Application.candidate_id.in_(sa.select(User.id).where(sa.or_(
                    User.email.icontains(term, autoescape=True),
                    (User.first_name + " " + User.last_name).icontains(term, autoescape=True),
                )).correlate(None)))
        return clauses


# Counting a million matching rows costs more than the page itself; past this the list says
# "more than N" (the bulk change's confirmation still counts exactly what it will move).
EXACT_COUNT_UP_TO = 10_000


# The list's sortable columns. Each sorts with the id as tie-breaker, so the keyset
# (value, id) of the last row on a page is where the next page starts. Expressions are never
# NULL: row-value comparisons with NULL match nothing.
_NEVER = datetime(1970, 1, 1)
SORT_KEYS = {
    "reference": lambda: Application.reference,
    "candidate": lambda: sa.func.lower(User.last_name + " " + User.first_name),
    "title": lambda: sa.func.lower(Application.title),
    "status": lambda: Status.position,
    "submitted": lambda: sa.func.coalesce(Application.submitted_at, _NEVER),
}


def _sorted(query, sort: Sort, after: int | None):
    """Order a query of applications by `sort`, starting after the row `after`."""
    if not sort.key:
        if after:
            query = query.where(Application.id < after)
        return query.order_by(Application.id.desc())
    expression = SORT_KEYS[sort.key]()
    query = (query.join(User, User.id == Application.candidate_id)
             .join(Status, Status.id == Application.status_id))
    if after:
        start = db.session.scalar(
            sa.select(expression).select_from(Application)
            .join(User, User.id == Application.candidate_id)
            .join(Status, Status.id == Application.status_id)
            .where(Application.id == after))
        if start is not None:
            key = sa.tuple_(expression, Application.id)
            query = query.where(key < sa.tuple_(start, after) if sort.descending
                                else key > sa.tuple_(start, after))
    if sort.descending:
        return query.order_by(expression.desc(), Application.id.desc())
    return query.order_by(expression.asc(), Application.id.asc())


def list_applications(user: User, selection: Selection, after: int | None = None,
                      limit: int = PAGE_SIZE, sort: Sort = Sort()) -> Page:
    """One page of a campaign's applications, newest first or by a column, by keyset (after
    the last row shown): the cost of a page does not grow with how far the reader went."""
    campaign_for_staff(user, selection.campaign_id)
    clauses = selection.where()
    query = (sa.select(Application).where(*clauses)
             .options(orm.joinedload(Application.candidate), orm.joinedload(Application.status))
             .limit(limit + 1))
    rows = list(db.session.scalars(_sorted(query, sort, after)).unique())
    counted = sa.select(Application.id).where(*clauses).limit(EXACT_COUNT_UP_TO + 1).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted))
    return keyset_page(rows, limit, lambda a: a.id, "after", started=bool(after),
                       total=min(total, EXACT_COUNT_UP_TO),
                       total_is_lower_bound=total > EXACT_COUNT_UP_TO)


def export_rows(user: User, selection: Selection, sort: Sort = Sort(), locale: str = "en",
                chunk: int = 1000):
    """Every application matching the selection, as tuples for a CSV file, read a keyset page
    at a time: a campaign of 100,000 applications never sits in memory at once. Access is
    checked now, not when the first row is read."""
    campaign_for_staff(user, selection.campaign_id)
    return _export_rows(selection, sort, locale, chunk)


def _export_rows(selection: Selection, sort: Sort, locale: str, chunk: int):
    after = None
    while True:
        query = (sa.select(Application).where(*selection.where())
                 .options(orm.joinedload(Application.candidate),
                          orm.joinedload(Application.status))
                 .limit(chunk))
        rows = list(db.session.scalars(_sorted(query, sort, after)).unique())
        for a in rows:
            yield (a.reference, a.candidate.last_name, a.candidate.first_name, a.candidate.email,
                   a.title, a.status.label_for(locale), a.submitted_at, a.created_at)
        if len(rows) < chunk:
            return
        # Rows already written are only weakly held by the session: memory stays flat.
        after = rows[-1].id


def history(application: Application) -> list[StatusChange]:
    return list(db.session.scalars(
        sa.select(StatusChange).where(StatusChange.application_id == application.id)
        .options(orm.joinedload(StatusChange.from_status), orm.joinedload(StatusChange.to_status),
                 orm.joinedload(StatusChange.changed_by))
        .order_by(StatusChange.id)
    ))


def emails(application: Application) -> list:
    """Every email this application caused, newest first, with its state and reason."""
    return outbox.of_application(application.id)


def skipped_recipients(application: Application) -> list[SkippedRecipient]:
    """The recipients its emails left out, and why, newest first."""
    return list(db.session.scalars(
        sa.select(SkippedRecipient).where(SkippedRecipient.application_id == application.id)
        .options(orm.joinedload(SkippedRecipient.template))
        .order_by(SkippedRecipient.id.desc())
    ))


