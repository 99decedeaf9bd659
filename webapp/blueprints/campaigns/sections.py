"""The Emails tab's sections: what each one needs to render, and the answers that redraw one
(`Section`: `TRIGGERS`, `REMINDERS`, `HELD`).

Each section builds only its own context, so an htmx answer redraws one section and computes
nothing for the others (switching a trigger does not plan the reminders). The full tab, for
the page and the no-JavaScript path, is the sum of the sections.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from flask_babel import get_locale
from flask_login import current_user

from webapp.blueprints.campaigns.forms import ReleaseHeldForm
from webapp.services import (
    campaign_triggers,
    email_templates,
    held_emails,
    permissions,
    reminders,
    statuses,
)
from webapp.web.htmx import render_page

TAB_PAGE = "campaigns/emails.html"


def _locale() -> str:
    return str(get_locale())


def _recipients_context(campaign) -> dict:
    """What the recipients fieldset and cell need, whatever the kind of automatic email."""
    members = campaign_triggers.members_today(campaign)
    return {"campaign": campaign, "tab": "emails", "members": members, "locale": _locale(),
            "has_templates": bool(email_templates.list_templates()),
            "nobody_warnings": lambda email: campaign_triggers.nobody_warnings(
                campaign, email, members)}


def triggers_context(campaign, **extra) -> dict:
    """The two trigger sections (candidate action, manager / evaluator action)."""
    return {
        **_recipients_context(campaign),
        "stats": campaign_triggers.sending_stats(campaign),
        "can_watch_outbox": permissions.can_watch_outbox(current_user),
        "triggers": campaign_triggers.triggers_of(campaign),
        "open_event": None, "editing": None, "form": None, "focus": None,
        **extra,
    }


def reminders_context(campaign, **extra) -> dict:
    """The "Scheduled reminders" section, with each reminder's outlook."""
    reminder_list = reminders.reminders_of(campaign)
    return {
        **_recipients_context(campaign),
        "reminders": reminder_list,
        "outlooks": reminders.outlooks(campaign, reminder_list),
        "status_labels": {s.id: s.label_for(_locale()) for s in statuses.all_statuses()},
        "reminder_form": None, "reminder_editing": None, "reminder_kind": None,
        **extra,
    }


def held_context(campaign, **extra) -> dict:
    """The emails held for review, per automatic email and status."""
    return {"campaign": campaign, "tab": "emails", "held_groups": held_emails.groups(campaign.id),
            "release_form": ReleaseHeldForm(), "held_errors": {}, **extra}


def history_context(campaign) -> dict:
    by_id = {s.id: s for s in statuses.all_statuses()}
    locale = _locale()
    return {"history": campaign_triggers.campaign_history(campaign),
            "explain": lambda entry: campaign_triggers.explain(entry, by_id, locale)}


def tab_context(campaign, **extra) -> dict:
    """The whole Emails tab: every section."""
    return {**triggers_context(campaign), **reminders_context(campaign),
            **held_context(campaign), **history_context(campaign), **extra}


def rest_of_tab(campaign, shown: dict, **extra):
    """For the page only: what the whole tab needs beyond `shown`, the section's context."""
    return lambda: {key: value for key, value in tab_context(campaign, **extra).items()
                    if key not in shown}


def tab_url(campaign, anchor: str | None = None) -> str:
    return url_for(".emails", campaign_id=campaign.id, _anchor=anchor)


@dataclass(frozen=True)
class Section:
    """One section of the Emails tab, and the answers that redraw it: its template, what it
    renders (`build(campaign, **extra)`) and its place on the tab (`anchor`), where a plain
    request goes back to."""

    template: str
    build: Callable[..., dict]
    anchor: str | None = None

    def closed(self, campaign, **extra):
        """With its form closed, for htmx (the form's Cancel); the tab otherwise."""
        return render_page(TAB_PAGE, self.template, see_other=tab_url(campaign, self.anchor),
                           **self.build(campaign, **extra))

    def saved(self, campaign, status: int = 200, events: tuple[str, ...] = ("triggerSaved",),
              **extra):
        """After a change: htmx gets the refreshed section (and the flash, out of band) and
        the events that refresh what depends on it; a plain POST goes back to the tab."""
        return render_page(TAB_PAGE, self.template, http_status=status,
                           see_other=tab_url(campaign, self.anchor),
                           trigger=events if status == 200 else None, with_messages=True,
                           **self.build(campaign, **extra))

    def reopened(self, campaign, status: int = 200, section: dict | None = None, **extra):
        """A form opened or refused, or a question asked: htmx gets the section (plus
        `section`, what only the section template needs); a plain request the whole tab."""
        shown = {**self.build(campaign, **extra), **(section or {})}
        return render_page(TAB_PAGE, self.template, http_status=status,
                           page_context=rest_of_tab(campaign, shown, **extra), **shown)


TRIGGERS = Section("campaigns/_section.html", triggers_context)
REMINDERS = Section("campaigns/_reminders_section.html", reminders_context,
                    anchor="section-reminders")
HELD = Section("campaigns/_held_section.html", held_context, anchor="section-held")
