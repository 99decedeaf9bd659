from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.services.documents import NAME_MAX, RequestedValues, kind_choices
from webapp.web.forms import Form, NoNewline


class RequestedDocumentForm(Form):
    name_fr = StringField(_l("Name in French"),
                          validators=[InputRequired(), Length(max=NAME_MAX), NoNewline()])
    name_en = StringField(_l("Name in English"),
                          validators=[InputRequired(), Length(max=NAME_MAX), NoNewline()])
    required = BooleanField(_l("Required to submit"), default=True)
    kinds = SelectMultipleField(_l("Accepted types"), validate_choice=True,
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())
    max_size_mb = IntegerField(_l("Maximum size (MB)"), default=5,
                               validators=[InputRequired(), NumberRange(min=1, max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds.choices = [SelectChoice(value, label) for value, label in kind_choices()]

    def values(self) -> RequestedValues:
        return RequestedValues(name_fr=self.name_fr.data or "", name_en=self.name_en.data or "",
                               required=bool(self.required.data), kinds=self.kinds.data or [],
                               max_size_mb=self.max_size_mb.data or 0)


class UploadForm(Form):
    file = FileField(_l("File"))


class ActionForm(Form):
    """A button: only the CSRF token travels."""
