from flask_babel import lazy_gettext as _l
from wtforms import EmailField, RadioField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.services.labels import ROLES
from webapp.web.forms import Form, NoNewline


class RolesField(SelectMultipleField):
    """The roles, as a group of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def role_choices():
    return [SelectChoice(code, label) for code, label in ROLES.items()]


class RolesForm(Form):
    roles = RolesField(_l("Roles"), choices=role_choices, validate_choice=True)


class InviteForm(RolesForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), NoNewline()])
    first_name = StringField(_l("First name"),
                             validators=[DataRequired(), Length(max=100), NoNewline()])
    last_name = StringField(_l("Last name"),
                            validators=[DataRequired(), Length(max=100), NoNewline()])
    locale = RadioField(_l("Language of the invitation"), default="fr",
                        choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English")])
