from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.core import clock
from webapp.core.errors import ValidationFailed
from webapp.web.forms import (
    AddressList,
    CheckboxValue,
    Form,
    LocalDateTimeField,
    NoNewline,
    apply_errors,
    id_value,
    optional_id,
)


class CampaignForm(Form):
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=200), NoNewline()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    # InputRequired: DataRequired would replace "Not a valid date" by "This field is required".
    opens_at = LocalDateTimeField(_l("Opens on"), validators=[InputRequired()])
    closes_at = LocalDateTimeField(_l("Closes on"), validators=[InputRequired()])
    published = BooleanField(_l("Published"), default=False, description=_l(
        "Candidates see the campaign while it is open only once it is published."))
    # Checkboxes, not a <select multiple>: usable by keyboard, touch and screen readers alike;
    # a filter box is added over them when scripts run.
    managers = SelectMultipleField(_l("Managers"), coerce=id_value, validate_choice=True,
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())
    evaluators = SelectMultipleField(_l("Evaluators"), coerce=id_value, validate_choice=True,
                                     widget=ListWidget(prefix_label=False),
                                     option_widget=CheckboxInput())


class CampaignSearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    phase = SelectField(_l("Phase"), choices=[
        SelectChoice("", _l("All")), SelectChoice("open", _l("Open")),
        SelectChoice("upcoming", _l("Upcoming")), SelectChoice("closed", _l("Closed")),
    ], validate_choice=False)


class RecipientsMixin:
    """The recipient choices every kind of automatic email offers, and the way a service's
    refusal reaches them: "at least one recipient" concerns the whole fieldset
    (`campaigns/_recipients_fieldset.html`), not one checkbox. A kind fired by someone's action
    adds `to_actor`."""

    to_candidate = BooleanField(_l("The candidate"))
    to_managers = BooleanField(_l("The campaign's managers"))
    to_evaluators = BooleanField(_l("The campaign's evaluators"))
    extra_addresses = StringField(_l("Other addresses"),
                                  validators=[Optional(), Length(max=5000), NoNewline(),
                                              AddressList()])

    recipient_errors: list[str] = []

    def recipients(self) -> dict:
        """The chosen recipients, as the services' inputs name them."""
        chosen = {name: self[name].data
                  for name in ("to_candidate", "to_actor", "to_managers", "to_evaluators")
                  if name in self}
        return {**chosen, "extra_addresses": self.extra_addresses.data or ""}

    def show_errors(self, error: ValidationFailed) -> None:
        """A service's refusal, next to the fields it names and in the recipients
        fieldset."""
        self.recipient_errors = []
        apply_errors(self, error, lists={"recipients": self.recipient_errors})


class TriggerForm(RecipientsMixin, Form):
    template_id = SelectField(_l("Email template"), coerce=optional_id, validate_choice=False)
    to_status_id = SelectField(_l("When the status becomes"), coerce=optional_id,
                               validate_choice=False)
    from_status_id = SelectField(_l("Previous status"), coerce=optional_id,
                                 validate_choice=False)
    to_actor = BooleanField(_l("The person who made the change"))
    active = BooleanField(_l("Active"))
    delay_hours = IntegerField(_l("Send after (hours)"), validators=[Optional()])
    hold_for_review = BooleanField(_l("Hold for review: a manager releases them"))
    transactional = BooleanField(_l("Transactional: cannot be unsubscribed from"),
                                 validators=[CheckboxValue()])


class ReminderForm(RecipientsMixin, Form):
    """A scheduled reminder; the fields of the other kind are ignored by the service."""

    kind = SelectField(_l("When"), choices=[
        SelectChoice("before_closing", _l("Before the closing date")),
        SelectChoice("in_status", _l("After time in a status")),
    ], validate_choice=False)
    template_id = SelectField(_l("Email template"), coerce=optional_id, validate_choice=False)
    offset_amount = IntegerField(_l("How long"), validators=[Optional()])
    offset_unit = SelectField(_l("Unit"), choices=[
        SelectChoice("days", _l("days")), SelectChoice("hours", _l("hours"))],
        validate_choice=False)
    # Checkboxes, not a <select multiple> (Ctrl-click is out of reach on a phone).
    also_status_ids = SelectMultipleField(_l("Also to applications in these statuses"),
                                          coerce=id_value, validate_choice=False,
                                          widget=ListWidget(prefix_label=False),
                                          option_widget=CheckboxInput())
    status_id = SelectField(_l("Status"), coerce=optional_id, validate_choice=False)
    repeat_every_days = IntegerField(_l("Repeat every (days)"), validators=[Optional()])
    max_times = IntegerField(_l("At most (times)"), validators=[Optional()])
    active = BooleanField(_l("Active"))
    transactional = BooleanField(_l("Transactional: cannot be unsubscribed from"),
                                 validators=[CheckboxValue()])


class ReleaseHeldForm(Form):
    """Release or cancel a group of held emails; `version` names the exact set the manager
    saw."""

    version = StringField(validators=[DataRequired()])
    not_before = LocalDateTimeField(_l("Release from"), validators=[Optional()])
    # A release from a moment is asked twice: the date is checked first, then confirmed.
    confirmed = HiddenField()

    def validate_not_before(self, field) -> None:
        if field.data is not None and field.data <= clock.now():
            raise ValidationError(_l("Choose a moment in the future, or release now."))

    def asks_confirmation(self) -> bool:
        """A release from a moment whose date is right, not confirmed yet."""
        return self.not_before.data is not None and not self.confirmed.data


class PublishForm(Form):
    """Publish or unpublish: only the CSRF token travels."""
