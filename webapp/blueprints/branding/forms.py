from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from webapp.web.forms import Form, NoNewline


class BrandingForm(Form):
    platform_name = StringField(_l("Platform name"),
                                validators=[Optional(), Length(max=100), NoNewline()])
    postal_address = TextAreaField(_l("Postal address"),
                                   validators=[Optional(), Length(max=500)])
    logo = FileField(_l("Logo"))
    remove_logo = BooleanField(_l("Remove the logo"))

    def validate(self, extra_validators=None) -> bool:
        # The logo is the one file this form takes (the view reads it from the request).
        self._not_text = set(getattr(self, "_not_text", ())) - {"logo"}
        return super().validate(extra_validators)
