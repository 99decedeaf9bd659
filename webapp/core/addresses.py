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
