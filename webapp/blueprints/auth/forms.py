from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from webapp.web.forms import Form, NoNewline


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class SignupForm(Form):
    first_name = StringField(_l("First name"),
                             validators=[DataRequired(), Length(max=100), NoNewline()])
    last_name = StringField(_l("Last name"),
                            validators=[DataRequired(), Length(max=100), NoNewline()])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), Length(max=1024),
                    EqualTo("password", message=_l("The passwords differ."))],
    )


class ForgotPasswordForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254), NoNewline()])


class ChangePasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired(),
                                                                Length(max=1024)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), Length(max=1024),
                    EqualTo("password", message=_l("The passwords differ."))],
    )


class NewPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), Length(max=1024),
                    EqualTo("password", message=_l("The passwords differ."))],
    )
