"""Validators shared by the forms of several blueprints."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from webapp.services.addresses import InvalidAddress, parse_address_list


class NoNewline:
    """Header fields (subject, names, addresses) must not carry a line break: header injection."""

    def __call__(self, form, field) -> None:
        if field.data and ("\n" in field.data or "\r" in field.data):
            raise ValidationError(_l("Line breaks are not allowed in this field."))


class AddressList:
    """A comma- or newline-separated list of valid email addresses."""

    def __call__(self, form, field) -> None:
        try:
            field.data = ", ".join(parse_address_list(field.data or ""))
        except InvalidAddress as error:
            raise ValidationError(
                _l("Not a valid email address: %(address)s", address=error.address)
            ) from None
