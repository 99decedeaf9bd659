"""Words for the codes stored in the database, in the reader's language. Codes are stored
(never words), so a history written by an English speaker reads in French for a French one."""

import re

from flask_babel import lazy_gettext as _l

RECIPIENT_KINDS = {
    "candidate": _l("The candidate"),
    "actor": _l("The person who made the change"),
    "managers": _l("The campaign's managers"),
    "evaluators": _l("The campaign's evaluators"),
    "address": _l("Fixed address"),
}

SKIP_REASONS = {
    "nobody": _l("nobody is chosen today"),
    "inactive": _l("the account is deactivated"),
    "no_access": _l("the account may not see this application"),
}

# OutboxAttempt.outcome
ATTEMPT_OUTCOMES = {
    "sent": _l("accepted by the server"),
    "temporary": _l("temporary failure"),
    "permanent": _l("permanent failure"),
    "rendered": _l("rendered again"),
}

TRIGGER_FIELDS = {
    "template": _l("Email template"),
    "to_status_id": _l("When the status becomes"),
    "from_status_id": _l("Previous status"),
    "recipients": _l("Recipients"),
    "addresses": _l("Other addresses"),
    "active": _l("Active"),
    "transactional": _l("Transactional"),
}

ROLES = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "evaluator": _l("Evaluator"),
    "candidate": _l("Candidate"),
}

ROLE_HELP = {
    "admin": _l("Everything, with the Outbox and the users."),
    "manager": _l("Campaigns, email templates, statuses and every application."),
    "evaluator": _l("Reads and moves the applications of the campaigns they are a member of."),
    "candidate": _l("Applies to open calls and follows their own applications."),
}

ACCOUNT_ACTIONS = {
    "account.invited": _l("invited"),
    "account.signed_up": _l("signed up"),
    "account.email_confirmed": _l("email address confirmed"),
    "account.password_changed": _l("password changed"),
    "account.password_set": _l("password chosen"),
    "account.password_reset_requested": _l("password reset asked for"),
    "account.roles_changed": _l("roles changed"),
    "account.deactivated": _l("account deactivated"),
    "account.reactivated": _l("account reactivated"),
}

# The system templates' names as created (stored in English): shown in the reader's language
# until an administrator renames them.
SYSTEM_TEMPLATE_NAMES = {
    "Account: confirm the email address": _l("Account: confirm the email address"),
    "Account: reset the password": _l("Account: reset the password"),
    "Account: invitation": _l("Account: invitation"),
}


def template_name(template) -> str:
    """A template's name as the reader should see it (a template, or its (name, system key))."""
    name, system_key = ((template.name, getattr(template, "system_key", None))
                        if hasattr(template, "name") else tuple(template))
    if system_key and name in SYSTEM_TEMPLATE_NAMES:
        return str(SYSTEM_TEMPLATE_NAMES[name])
    return name


YES_NO = {True: _l("yes"), False: _l("no")}


def label(table: dict, code) -> str:
    """The word for `code`, or the code itself when it is unknown (data from a newer version)."""
    return str(table[code]) if code in table else str(code)


# Why an email was withdrawn (OutboxMessage.cancel_reason): stored in English, these read in
# the reader's language; any other reason is shown as stored.
CANCEL_REASONS = [
    (re.compile(r"Withdrawn: the application was submitted\."),
     _l("Withdrawn: the application was submitted.")),
    (re.compile(r"Withdrawn: the application left the status this reminder is about\."),
     _l("Withdrawn: the application left the status this reminder is about.")),
    (re.compile(r"Withdrawn: the reminder was switched off\."),
     _l("Withdrawn: the reminder was switched off.")),
    (re.compile(r"Withdrawn: the reminder was deleted\."),
     _l("Withdrawn: the reminder was deleted.")),
    (re.compile(r"Superseded: the application was reopened for changes\."),
     _l("Superseded: the application was reopened for changes.")),
    (re.compile(r"Superseded by a later decision: the application moved to (?P<status>.+)\."),
     _l("Superseded by a later decision: the application moved to %(status)s.")),
    (re.compile(r"Cancelled by (?P<who>\S+) while held for review"),
     _l("Cancelled by %(who)s while held for review")),
    (re.compile(r"Cancelled by (?P<who>\S+)"), _l("Cancelled by %(who)s")),
]

# Why an email failed before reaching the server (OutboxMessage.last_error written by the
# platform, in English): read in the reader's language. A server's own reply is shown as is.
ERRORS = [
    (re.compile(r"Rendering failed: (?P<error>.*)", re.DOTALL), _l("Rendering failed: %(error)s")),
    (re.compile(r"Invalid address: (?P<address>.+) \(one address per email, nothing to "
                r"deliver\)"),
     _l("Invalid address: %(address)s (one address per email, nothing to deliver)")),
]


def error(text: str) -> str:
    """An outbox row's last error as the reader should see it."""
    for pattern, message in ERRORS:
        match = pattern.fullmatch(text or "")
        if match:
            return str(message) % match.groupdict()
    return text


def cancel_reason(text: str) -> str:
    for pattern, message in CANCEL_REASONS:
        match = pattern.fullmatch(text or "")
        if match:
            values = match.groupdict()
            if "status" in values:
                values["status"] = _status_label(values["status"])
            return str(message) % values if values else str(message)
    return text


def _status_label(label_en: str) -> str:
    from flask_babel import get_locale

    from webapp.services import statuses

    for status in statuses.all_statuses():
        if status.label_en == label_en:
            return status.label_for(str(get_locale()))
    return label_en
