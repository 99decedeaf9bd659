from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from webapp.services.letters import NAME_MAX, LetterValues
from webapp.web.forms import Form, NoNewline


class LetterForm(Form):
    name = StringField(_l("Name"), validators=[Length(max=NAME_MAX), NoNewline()])
    default_locale = SelectField(_l("Default language"))
    title_fr = StringField(_l("Title (French)"), validators=[Length(max=200), NoNewline()])
    body_fr = TextAreaField(_l("Letter (French)"), validators=[Length(max=100_000)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200), NoNewline()])
    body_en = TextAreaField(_l("Letter (English)"), validators=[Length(max=100_000)])
    preview_locale = SelectField(_l("Preview in"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        languages = [SelectChoice("fr", str(_l("French"))), SelectChoice("en", str(_l("English")))]
        self.default_locale.choices = languages
        self.preview_locale.choices = list(languages)

    def values(self) -> LetterValues:
        return LetterValues(name=self.name.data or "", default_locale=self.default_locale.data,
                            title_fr=self.title_fr.data or "", title_en=self.title_en.data or "",
                            body_fr=self.body_fr.data or "", body_en=self.body_en.data or "")


class DeleteForm(Form):
    """A button: only the CSRF token travels."""
