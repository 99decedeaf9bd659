"""Who may do what: pure functions used by views, services and tests alike."""

from webapp.models import Application, Campaign, MemberRole, Role, User


def is_assigned(user: User, campaign: Campaign, role: MemberRole | None = None) -> bool:
    return any(
        m.user_id == user.id and (role is None or m.role == role) for m in campaign.members
    )


def can_configure_emails(user: User) -> bool:
    """Only platform managers (and admins) configure templates and triggers."""
    return user.has_role(Role.ADMIN, Role.MANAGER)


def can_edit_template(user: User, template) -> bool:
    """Campaign templates: platform managers and admins. The platform's account emails carry
    links that sign their reader in: admins only."""
    if template is not None and template.system_key:
        return can_edit_account_emails(user)
    return can_configure_emails(user)


def can_edit_account_emails(user: User) -> bool:
    return user.has_role(Role.ADMIN)


def can_view_campaign_applications(user: User, campaign: Campaign) -> bool:
    if user.has_role(Role.ADMIN, Role.MANAGER):
        return True
    return user.has_role(Role.EVALUATOR) and is_assigned(user, campaign)


def can_change_status(user: User, campaign: Campaign) -> bool:
    """Managers in every campaign; evaluators only in campaigns they are assigned to."""
    return can_view_campaign_applications(user, campaign)


def can_reopen_application(user: User, campaign: Campaign) -> bool:
    """Reopening a submitted application for changes is a platform manager's decision."""
    return user.has_role(Role.ADMIN, Role.MANAGER)


def can_view_application(user: User, application: Application) -> bool:
    if application.candidate_id == user.id:
        return True
    return can_view_campaign_applications(user, application.campaign)


def can_read_documents(user: User, campaign: Campaign) -> bool:
    """Candidates' files (CVs, budgets): admins, and the staff assigned to the campaign."""
    return user.has_role(Role.ADMIN) or (user.is_staff and is_assigned(user, campaign))


def can_watch_outbox(user: User) -> bool:
    return user.has_role(Role.ADMIN)
