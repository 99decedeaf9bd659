"""Who receives an automatic email, whatever its kind (a trigger, a reminder, a later kind).

An automatic email chooses its recipients with the flags of `RECIPIENT_FLAGS` and fixed
addresses. `Audience` turns those choices into people for one application: duplicates merged
by address, inactive accounts and people who may not see the application left out, and each
one left out returned as a `Skip` with its reason, for the caller to record. Everything it
needs from the database (the campaign's members, the accounts behind fixed addresses) is
loaded once per campaign, so planning thousands of applications runs no query per
application.
"""

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from webapp.core.addresses import InvalidAddress, parse_address_list
from webapp.extensions import db
from webapp.models import Campaign, CampaignMember, MemberRole, RecipientKind, SkipReason, User
from webapp.services import permissions

log = logging.getLogger("missive.automatic_emails")

# The recipient choices an automatic email may offer, in the order the forms show them. A
# kind without a "person who acted" (a reminder fires on the clock) has no `to_actor`.
RECIPIENT_FLAGS = ("to_candidate", "to_actor", "to_managers", "to_evaluators")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str | None
    user_id: int | None = None


@dataclass(frozen=True)
class Skip:
    """A recipient chosen but left out; `email` is empty when the choice named nobody."""

    kind: RecipientKind
    reason: SkipReason
    email: str = ""
    user_id: int | None = None


def check_recipients(data, flags: tuple[str, ...]) -> tuple[dict[str, list[str]], dict]:
    """The recipient choices of a form of any kind, checked: errors by field ("recipients"
    for the whole fieldset), and the cleaned values of `flags` and the fixed addresses."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    try:
        values["extra_addresses"] = ", ".join(parse_address_list(data.extra_addresses))
    except InvalidAddress as error:
        errors["extra_addresses"] = [str(_l("Not a valid email address: %(address)s",
                                            address=error.address))]
    for flag in flags:
        values[flag] = bool(getattr(data, flag))
    if (not any(values[flag] for flag in flags) and not values.get("extra_addresses")
            and "extra_addresses" not in errors):
        errors["recipients"] = [str(_l("Choose at least one recipient."))]
    return errors, values


def chosen(email, flag: str) -> bool:
    """Whether `email` (of any kind) chose the recipients of `flag`; a kind that does not
    offer the choice did not."""
    return bool(getattr(email, flag, False))


class Audience:
    """The people a campaign's automatic emails can reach, loaded once."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self._members: dict[MemberRole, list[User]] | None = None
        self._fixed: dict[str, tuple[list[Recipient], list[User]]] = {}

    def resolve(self, email, application,
                actor: User | None = None) -> tuple[list[Recipient], list[Skip]]:
        """Who receives `email` about `application`, duplicates merged (by address), and who
        was chosen but is left out, with the reason: an inactive account, one that may not
        see the application, or a choice that names nobody (a campaign without managers).
        `actor` is the person who acted, for the kinds fired by someone's action."""
        people: list[tuple[RecipientKind, User]] = []
        if chosen(email, "to_candidate"):
            people.append((RecipientKind.CANDIDATE, application.candidate))
        if actor is not None and chosen(email, "to_actor"):
            people.append((RecipientKind.ACTOR, actor))
        return self._merge(email, people, lambda person: permissions.can_view_application(
            person, application))

    def staff(self, email) -> list[Recipient]:
        """The recipients of `email` other than the candidate and the actor: the same for
        every application of the campaign."""
        return self._merge(email, [], lambda person: permissions.can_view_campaign_applications(
            person, self.campaign))[0]

    def _merge(self, email, people: list[tuple[RecipientKind, User]],
               may_see) -> tuple[list[Recipient], list[Skip]]:
        skipped: dict[str, Skip] = {}
        for flag, role, kind in (("to_managers", MemberRole.MANAGER, RecipientKind.MANAGERS),
                                 ("to_evaluators", MemberRole.EVALUATOR,
                                  RecipientKind.EVALUATORS)):
            if not chosen(email, flag):
                continue
            members = self.members()[role]
            if not members:
                skipped[f"{kind}:"] = Skip(kind, SkipReason.NOBODY)
            people.extend((kind, member) for member in members)
        merged: dict[str, Recipient] = {}
        for kind, person in people:
            address = person.email.lower()
            if not person.active:
                skipped.setdefault(address, Skip(kind, SkipReason.INACTIVE, person.email,
                                                 person.id))
            elif not may_see(person):
                skipped.setdefault(address, Skip(kind, SkipReason.NO_ACCESS, person.email,
                                                 person.id))
            else:
                merged.setdefault(address,
                                  Recipient(person.email, person.name, person.locale, person.id))
        fixed, inactive = self.fixed_addresses(email)
        for recipient in fixed:
            merged.setdefault(recipient.email.lower(), recipient)
        for account in inactive:
            skipped.setdefault(account.email.lower(), Skip(
                RecipientKind.ADDRESS, SkipReason.INACTIVE, account.email, account.id))
        return list(merged.values()), [skip for address, skip in skipped.items()
                                       if address not in merged]

    def members(self) -> dict[MemberRole, list[User]]:
        """The campaign's members by role (one query, the first time)."""
        if self._members is None:
            members = db.session.scalars(
                sa.select(CampaignMember)
                .where(CampaignMember.campaign_id == self.campaign.id)
                .options(orm.joinedload(CampaignMember.user))
                .order_by(CampaignMember.user_id)
            ).all()
            self._members = {role: [] for role in MemberRole}
            for member in members:
                self._members[MemberRole(member.role)].append(member.user)
        return self._members

    def fixed_addresses(self, email) -> tuple[list[Recipient], list[User]]:
        """Fixed addresses are chosen by a platform manager; one that belongs to an account
        takes its name and language, and is skipped when that account is inactive."""
        source = email.extra_addresses or ""
        if source not in self._fixed:
            try:
                addresses = parse_address_list(source)
            except InvalidAddress:
                log.warning("%s %s has an invalid fixed address; ignored",
                            type(email).__name__, email.id)
                addresses = []
            accounts = {u.email: u for u in db.session.scalars(
                sa.select(User).where(User.email.in_(addresses)))} if addresses else {}
            fixed, inactive = [], []
            for address in addresses:
                account = accounts.get(address)
                if account is None:
                    fixed.append(Recipient(address, "", None))
                elif account.active:
                    fixed.append(Recipient(account.email, account.name, account.locale,
                                           account.id))
                else:
                    inactive.append(account)
            self._fixed[source] = (fixed, inactive)
        return self._fixed[source]
