from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Regexp

from webapp.web.forms import Form, NoNewline


class StatusForm(Form):
    label_en = StringField(_l("Name in English"),
                           validators=[DataRequired(), Length(max=100), NoNewline()])
    label_fr = StringField(_l("Name in French"),
                           validators=[DataRequired(), Length(max=100), NoNewline()])
    colour = StringField(_l("Colour"), default="#6b7280", validators=[
        DataRequired(), Length(max=7),
        Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("A colour like #2563eb."))])
    position = IntegerField(_l("Position in lists"), default=10,
                            validators=[NumberRange(min=0, max=1000)])
