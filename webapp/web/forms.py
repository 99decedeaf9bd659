"""Validators shared by the forms of several blueprints, and the mapping of a service's refusal
onto a form."""

from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from wtforms import DateTimeLocalField
from wtforms.validators import ValidationError

from webapp.core.addresses import InvalidAddress, parse_address_list
from webapp.core.errors import ValidationFailed


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


class LocalDateTimeField(DateTimeLocalField):
    """A date and time typed and shown in the platform's time zone, stored as naive UTC like
    every datetime in the database."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = to_utc(self.data)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if self.data is None:
            return ""
        return to_user_timezone(self.data).strftime(self.format[0])


def apply_errors(form, error: ValidationFailed, default_field: str | None = None,
                 lists: dict[str, list] | None = None) -> None:
    """Put a service's refusal next to the fields it names. Messages for no field (or for a
    field the form lacks) go to `default_field` if given, else above the form; `lists` routes
    a name that is no field (a group of checkboxes) to a list of its own."""
    for name, messages in error.errors.items():
        if lists and name in lists:
            lists[name].extend(messages)
            continue
        field = getattr(form, name or default_field or "", None)
        if field is None or not hasattr(field, "errors"):
            field = getattr(form, default_field, None) if default_field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
        else:
            form.form_errors.extend(messages)
