from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.services.documents import kind_choices
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


class AttachmentsForm(Form):
    letters = SelectMultipleField(_l("Letters"), coerce=int, validate_choice=True,
                                  widget=ListWidget(prefix_label=False),
                                  option_widget=CheckboxInput())
    kinds = SelectMultipleField(_l("The candidate's documents of these types"),
                                validate_choice=True, widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())

    def set_choices(self, letters, prefix: str) -> "AttachmentsForm":
        self.letters.choices = [SelectChoice(letter.id, letter.name) for letter in letters]
        self.kinds.choices = [SelectChoice(v, label) for v, label in kind_choices()]
        self.letters.id, self.kinds.id = f"{prefix}-letters", f"{prefix}-kinds"
        return self
