"""Email address parsing and validation, the one place that decides what an address is."""

import re

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    def __init__(self, address: str):
        self.address = address
        super().__init__(address)


def normalize_email(address: str) -> str:
    """Validate one address and return it lower-cased (emails are unique case-insensitively)."""
    address = (address or "").strip()
    if "\n" in address or "\r" in address:
        raise InvalidAddress(address)
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise InvalidAddress(address) from None
    return result.normalized.lower()


def parse_address_list(text: str) -> list[str]:
    """Split on commas, semicolons and line breaks; validate each; drop duplicates, keep order."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;\n\r]+", text or ""):
        if part.strip():
            seen.setdefault(normalize_email(part), None)
    return list(seen)


def recipient_address(address: str) -> str:
    """The one address of one outbox row, as the SMTP envelope carries it: checked, lower-cased
    (as user addresses are: one spelling per address, for the suppression list) and its domain
    converted to IDNA (`idn@exämple.org` -> `idn@xn--exmple-cua.org`), so that
    nothing is left to encode at send time. A local part that needs SMTPUTF8 is kept as it is
    (the relay decides at send time); a list (`a@x.org, b@y.org`) is refused: one row, one
    recipient."""
    address = (address or "").strip()
    if not address or any(c in address for c in ",;<>\r\n\t"):
        raise InvalidAddress(address)
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        raise InvalidAddress(address) from None
    domain = result.ascii_domain or result.domain
    return f"{result.local_part}@{domain}".lower()


def needs_smtputf8(address: str) -> bool:
    """Whether the envelope needs the relay's SMTPUTF8 (RFC 6531): a non-ASCII local part."""
    return not address.isascii()
