"""Control characters in user input: refused where a value reaches a header or a name, removed
from free text. PostgreSQL refuses NUL in text columns outright; the others have no place in
what people type and can break headers, logs and CSV exports."""

import re

# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROLS_AND_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_controls(value: str, allow_line_breaks: bool = False) -> bool:
    pattern = _CONTROLS if allow_line_breaks else _CONTROLS_AND_BREAKS
    return bool(value) and pattern.search(value) is not None


def strip_controls(value: str, keep_line_breaks: bool = True) -> str:
    """`value` without control characters (line breaks and tabs kept in free text)."""
    if not value:
        return value
    if keep_line_breaks:
        return _CONTROLS.sub("", value)
    return _CONTROLS_AND_BREAKS.sub(" ", value)
