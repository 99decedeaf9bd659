from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields import SearchField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from webapp.models import Status
from webapp.services.applications import Selection
from webapp.web.forms import Form, id_or_none, id_value


class FilterForm(Form):
    """The list's filter: a GET form, shareable as a URL (no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), coerce=id_or_none, validators=[Optional()])
    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)])

    def set_statuses(self, statuses, locale):
        self.status.choices = [SelectChoice("", str(_l("All statuses")))] + [
            SelectChoice(s.id, s.label_for(locale)) for s in statuses]


class StatusChangeForm(Form):
    status = SelectField(_l("New status"), coerce=id_or_none, validators=[DataRequired()])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])

    def set_statuses(self, statuses, locale):
        """Every status but Draft, which is the candidate's (see "Reopen for changes")."""
        self.status.choices = [SelectChoice("", str(_l("Choose a status")))] + [
            SelectChoice(s.id, s.label_for(locale)) for s in statuses if s.code != Status.DRAFT]


class ReopenForm(Form):
    """Shown beside the status form: its fields are prefixed (reopen-comment) to stay apart."""

    comment = TextAreaField(_l("Why (optional, kept in the history)"),
                            validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "reopen")
        super().__init__(*args, **kwargs)


class BulkStatusForm(StatusChangeForm):
    """A status change of the rows ticked in the list, or of all rows matching its filter."""

    scope = RadioField(_l("Applications"), default="selected", choices=[
        SelectChoice("selected", _l("The selected rows")),
        SelectChoice("all", _l("All matching this filter")),
    ])
    ids = SelectMultipleField(coerce=id_value, validate_choice=False)
    list_status = HiddenField(validators=[Length(max=20)])
    list_q = HiddenField(validators=[Length(max=200)])

    def selection(self, campaign_id: int) -> Selection:
        if self.scope.data == "all":
            return Selection(campaign_id, all_matching=True,
                             status_id=id_or_none(self.list_status.data),
                             search=self.list_q.data or "")
        return Selection(campaign_id, ids=tuple(self.ids.data or ()))


class BulkPreviewForm(BulkStatusForm):
    class Meta:
        csrf = False
