"""The French catalog is complete: every string of the code and templates is translated."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "webapp/translations/fr/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    method_map = [("webapp/**.py", "python"), ("templates/**.html", "jinja2")]
    messages = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS,
        directory_filter=lambda path: not Path(path).name.startswith((".", "__")),
    ):
        messages.add(message[0] if isinstance(message, tuple) else message)
    return messages


def test_every_ui_string_has_a_french_translation():
    with PO.open("rb") as f:
        catalog = read_po(f, locale="fr")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog if m.id and m.string and not m.fuzzy
        and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    missing = sorted(_source_messages() - translated)
    assert not missing, f"{len(missing)} strings lack a French translation: {missing[:20]}"
