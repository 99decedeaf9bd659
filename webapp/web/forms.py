"""The base form, fields and validators shared by the forms of several blueprints, and the
mapping of a service's refusal onto a form."""

import flask_babel
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import (
    DateField,
    DateTimeLocalField,
    FileField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, ValidationError

from webapp.core import text
from webapp.core.addresses import InvalidAddress, parse_address_list
from webapp.core.errors import ValidationFailed

# Ids are INTEGER columns: 32 bits on PostgreSQL. Anything larger names nothing.
MAX_ID = 2**31 - 1
# Dates people mean; outside these, time-zone arithmetic overflows and nobody meant them.
MIN_YEAR, MAX_YEAR = 1900, 2999


def refuse_controls(value):
    """A single-line field: control characters (NUL, escape, …) are refused. Line breaks are
    left to NoNewline on the fields that reach a header."""
    if isinstance(value, str) and text.has_controls(value, allow_line_breaks=True):
        raise ValueError(_l("This field contains a control character that is not allowed."))
    return value


def strip_controls(value):
    """Free text: control characters other than tabs and line breaks are removed."""
    return text.strip_controls(value) if isinstance(value, str) else value


class _OwnWordsFirst:
    """WTForms' messages in the platform's words where its catalogue has them (a field is
    "obligatoire" on every form, never "requis"), else in WTForms' own translation."""

    def __init__(self, fallback):
        self.fallback = fallback

    def gettext(self, string):
        own = flask_babel.gettext(string)
        if own != string or self.fallback is None:
            return own
        return self.fallback.gettext(string)

    def ngettext(self, singular, plural, n):
        if self.fallback is None:
            return flask_babel.ngettext(singular, plural, n)
        return self.fallback.ngettext(singular, plural, n)


class Form(FlaskForm):
    """The base of every form: control characters never reach a service or the database."""

    class Meta:
        def get_translations(self, form):
            return _OwnWordsFirst(super().get_translations(form))

        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            extra = ()
            if issubclass(field_class, TextAreaField):
                extra = (strip_controls,)
            elif issubclass(field_class, StringField) and not issubclass(field_class,
                                                                          PasswordField):
                extra = (refuse_controls,)
            if extra:
                filters = tuple(unbound_field.kwargs.get("filters") or ()) + extra
                return unbound_field.bind(form=form, filters=filters, **options)
            return unbound_field.bind(form=form, **options)

        def wrap_formdata(self, form, formdata):
            """Text only: a file part (or a JSON number, list or object) sent where the form
            expects text is set aside, and its field refuses it when the form is validated."""
            try:
                wrapped = super().wrap_formdata(form, formdata)
            except (TypeError, ValueError):  # JSON that is no object of names and values
                wrapped, form._not_text = ImmutableMultiDict(), {""}
            if wrapped is None or not hasattr(wrapped, "getlist"):
                return wrapped
            items = list(wrapped.items(multi=True))
            files = {field.name for field in form if isinstance(field, FileField)}
            not_text = {name for name, value in items
                        if not isinstance(value, str) and name not in files}
            if not not_text:
                return wrapped
            form._not_text = not_text
            return ImmutableMultiDict([(name, value) for name, value in items
                                       if name not in not_text])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for name in sorted(getattr(self, "_not_text", ())):
            field = self[name] if name in self else None
            if field is not None:
                field.errors = [*field.errors, _l("A file or a value that is not text was sent "
                                                  "for this field.")]
            else:
                self.form_errors.append(_l("Only text was expected in this form."))
            valid = False
        # A value refused for its length is shown again cut to the limit, not echoed whole.
        for field in self:
            limits = [v.max for v in field.validators if isinstance(v, Length) and v.max >= 0]
            if field.errors and limits and isinstance(field.data, str) \
                    and len(field.data) > min(limits):
                field.data = field.data[:min(limits)]
                field.raw_data = [field.data]
        return valid


def id_value(value):
    """Coerce a submitted id; ValueError (a field error) unless it could name a row."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(_l("Not a valid choice."))
    return number


def optional_id(value):
    """Like id_value, with an empty value meaning none."""
    return id_value(value) if value not in (None, "", "None") else None


def id_or_none(value):
    """Like optional_id, but anything that is not an id means none (filters in URLs)."""
    try:
        return optional_id(value)
    except (TypeError, ValueError):
        return None


class BoundedDateField(DateField):
    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            self.data = None
            raise ValueError(_l("Not a valid date."))


class NoNewline:
    """Header fields (subject, names, addresses) must not carry a line break: header injection."""

    def __call__(self, form, field) -> None:
        if field.data and ("\n" in field.data or "\r" in field.data):
            raise ValidationError(_l("Line breaks are not allowed in this field."))


class CheckboxValue:
    """A checkbox posts its value or nothing: any other value is refused, not read as on."""

    ACCEPTED = frozenset({"y", "on", "true", "1", "false", ""})

    def __call__(self, form, field) -> None:
        if field.raw_data and field.raw_data[0].strip().lower() not in self.ACCEPTED:
            raise ValidationError(_l("Tick the box or leave it empty."))


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
            if not MIN_YEAR <= self.data.year <= MAX_YEAR:
                self.data = None
                raise ValueError(_l("Not a valid date."))
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
