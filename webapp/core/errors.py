"""Domain exceptions the views turn into messages next to fields, 403 or 404."""


class ValidationFailed(Exception):
    """Input the domain refuses; `errors` maps a field name (or "" for the form) to messages."""

    def __init__(self, errors: dict[str, list[str]] | str, field: str = ""):
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors = errors
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))


class NotAllowed(Exception):
    """The user may not do this."""


class NotFound(Exception):
    """The object does not exist (or is hidden from this user)."""
