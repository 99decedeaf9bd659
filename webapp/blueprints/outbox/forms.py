from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from webapp.models import OutboxPriority, OutboxState
from webapp.outbox import Filter
from webapp.services import labels
from webapp.web.forms import BoundedDateField, Form, optional_id

STATE_LABELS = {
    "pending": _l("Pending"), "sending": _l("Sending"), "sent": _l("Sent"),
    "failed": _l("Failed"), "cancelled": _l("Cancelled"), "held": _l("Held"),
    "suppressed": _l("Suppressed"),
}


PRIORITY_LABELS = {
    OutboxPriority.URGENT.value: _l("Urgent"), OutboxPriority.NORMAL.value: _l("Normal"),
    OutboxPriority.BULK.value: _l("Bulk"),
}
LABELS = {"state_labels": STATE_LABELS, "priority_labels": PRIORITY_LABELS}


def _optional_priority(value):
    """A priority's number; ValueError (a field error) for anything else."""
    if value in (None, ""):
        return None
    number = int(value)
    if number not in PRIORITY_LABELS:
        raise ValueError(_l("Not a valid choice."))
    return number


class FilterForm(Form):
    """The Outbox filter: a GET form, so its URL can be shared."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), choices=[SelectChoice("", _l("Any state"))] + [
        SelectChoice(s.value, STATE_LABELS[s.value]) for s in OutboxState], default="")
    priority = SelectField(_l("Priority"), coerce=_optional_priority, default="", choices=[
        SelectChoice("", _l("Any priority"))] + [
        SelectChoice(value, label) for value, label in PRIORITY_LABELS.items()])
    campaign = SelectField(_l("Campaign"), coerce=optional_id, validate_choice=False)
    template = SelectField(_l("Template"), coerce=optional_id, validate_choice=False)
    trigger = SelectField(_l("Automatic email"), coerce=optional_id, validate_choice=False)
    date_from = BoundedDateField(_l("From"), validators=[Optional()])
    date_to = BoundedDateField(_l("To"), validators=[Optional()])
    q = SearchField(_l("Search"), validators=[Optional(), Length(max=300)],
                    description=_l("Recipient, subject or Message-ID"))

    def set_choices(self, choices: dict) -> None:
        self.campaign.choices = [SelectChoice("", _l("Any campaign"))] + [
            SelectChoice(value, label) for value, label in choices["campaigns"]]
        self.template.choices = [SelectChoice("", _l("Any template"))] + [
            SelectChoice(value, labels.template_name(template))
            for value, *template in choices["templates"]]
        events = {"submitted": _l("on submission"), "status_changed": _l("on status change")}
        self.trigger.choices = [SelectChoice("", _l("Any automatic email"))] + [
            SelectChoice(value, f"{campaign} · {template} ({events.get(event, event)})")
            for value, campaign, template, event in choices["triggers"]]

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def to_filter(self) -> Filter:
        """The service's filter; only call after validate()."""
        return Filter(
            state=self.state.data or "",
            priority=self.priority.data,
            campaign_id=self.campaign.data,
            trigger_id=self.trigger.data,
            template_id=self.template.data,
            created_from=_midnight(self.date_from.data),
            created_to=_midnight(self.date_to.data, days=1),
            search=(self.q.data or "").strip(),
        )

    def query_args(self) -> dict:
        """The filter as URL arguments (for links that keep it)."""
        return {name: field.data for name, field in self._fields.items()
                if field.data not in (None, "")}


def _midnight(day, days: int = 0):
    if day is None:
        return None
    from datetime import datetime

    return datetime(day.year, day.month, day.day) + timedelta(days=days)


class BulkForm(Form):
    """Confirm a bulk action; the filter travels in the URL."""

    action = HiddenField(validators=[Length(max=10)])
