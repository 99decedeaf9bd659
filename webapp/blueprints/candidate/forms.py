from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.services.applications import TITLE_MAX, Answers
from webapp.web.forms import Form, NoNewline


class ApplicationForm(Form):
    """Completeness is checked by the service on submit only: a draft may be partial."""

    title = StringField(_l("Title of your project"),
                        validators=[Length(max=TITLE_MAX), NoNewline()])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=5000)])
    motivation = TextAreaField(_l("Motivation"), validators=[Length(max=20000)])
    confirmed = BooleanField(_l("I confirm that my answers are accurate and complete."))

    def answers(self) -> Answers:
        return Answers(title=self.title.data or "", summary=self.summary.data or "",
                       motivation=self.motivation.data or "", confirmed=self.confirmed.data)


class ConfirmForm(Form):
    """A confirmation button: only the CSRF token travels."""


class AddressForm(Form):
    """A corrected email address, after mail to the old one could not be delivered."""

    email = StringField(_l("Your correct email address"),
                        validators=[DataRequired(), Length(max=254), NoNewline()])
