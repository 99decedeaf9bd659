from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from webapp.web.forms import AddressList, Form, NoNewline, optional_id

# A template's body: far above any real email, well below the request size limit.
BODY_MAX = 100_000

LANGUAGES = [SelectChoice("fr", _l("French")), SelectChoice("en", _l("English"))]


class TemplateForm(Form):
    """The editor. Names of the per-language fields end with the locale: subject_fr, …"""

    template_id = HiddenField(validators=[Length(max=12)])
    name = StringField(_l("Name"), validators=[Length(max=200), NoNewline()])
    default_locale = SelectField(_l("Default language"), choices=LANGUAGES)
    sender_name = StringField(_l("Sender display name"),
                              validators=[Optional(), Length(max=200), NoNewline()])
    reply_to = StringField(_l("Reply-to address"),
                           validators=[Optional(), Length(max=254), NoNewline()])
    cc = StringField(_l("Cc"), validators=[Optional(), Length(max=2000), NoNewline(),
                                           AddressList()])
    bcc = StringField(_l("Bcc"), validators=[Optional(), Length(max=2000), NoNewline(),
                                             AddressList()])

    subject_fr = StringField(_l("Subject"), validators=[Length(max=300), NoNewline()])
    body_html_fr = TextAreaField(_l("HTML body"), validators=[Length(max=BODY_MAX)])
    body_text_fr = TextAreaField(_l("Plain-text body (optional)"),
                                 validators=[Length(max=BODY_MAX)])
    subject_en = StringField(_l("Subject"), validators=[Length(max=300), NoNewline()])
    body_html_en = TextAreaField(_l("HTML body"), validators=[Length(max=BODY_MAX)])
    body_text_en = TextAreaField(_l("Plain-text body (optional)"),
                                 validators=[Length(max=BODY_MAX)])

    preview_locale = SelectField(_l("Preview language"), choices=LANGUAGES,
                                 validate_choice=False)
    preview_application = SelectField(_l("Preview with"), coerce=optional_id,
                                      validate_choice=False)

    def version_fields(self, locale: str):
        return (self[f"subject_{locale}"], self[f"body_html_{locale}"],
                self[f"body_text_{locale}"])


class TemplateSearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
