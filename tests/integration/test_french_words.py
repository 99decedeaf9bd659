"""Words built outside templates (labels of stored codes, placeholder examples, parser
messages) reach a French reader in French: each is rendered under both locales and the French
must differ from its English source. A word added without a translation fails here even when
the extraction-based catalogue test cannot see it."""

import pytest
from flask_babel import force_locale

from webapp.blueprints.outbox.forms import STATE_LABELS
from webapp.services import labels, templating

TABLES = {
    "recipient kinds": labels.RECIPIENT_KINDS, "skip reasons": labels.SKIP_REASONS,
    "attempt outcomes": labels.ATTEMPT_OUTCOMES, "trigger fields": labels.TRIGGER_FIELDS,
    "yes/no": labels.YES_NO, "outbox states": STATE_LABELS,
}


@pytest.mark.parametrize("name", TABLES)
def test_every_label_of_a_stored_code_is_french_for_a_french_reader(app, name):
    with app.test_request_context():
        for code, word in TABLES[name].items():
            with force_locale("en"):
                english = str(word)
            with force_locale("fr"):
                french = str(word)
            assert french and french != english, f"{name}: {code!r} reads {french!r} in French"


def test_placeholder_examples_follow_the_reader(app):
    with app.test_request_context():
        english, french = templating.sample_values("en"), templating.sample_values("fr")
    for name in ("campaign_label", "closing_date", "old_status_label", "status_label", "today"):
        assert french[name] != english[name], name
    assert french["status_label"] == "Accepté"
    assert french["closing_date"] == "31 mars 2027"
    assert english["closing_date"] == "March 31, 2027"


@pytest.mark.parametrize("source,french", [
    ("{{ status_label }", "Erreur de syntaxe à la ligne 1 : « } » inattendu"),
    ("{{ a b }}", "Erreur de syntaxe à la ligne 1 : « }} » attendu, « b » trouvé"),
    ("<p>\n{% foo %}", "Erreur de syntaxe à la ligne 2 : balise inconnue « foo »"),
    ("{% if x %}", "Erreur de syntaxe à la ligne 1 : le modèle se termine avant qu'une "
                   "variable ou une balise soit fermée"),
    ("</p>{% /p %}", "Erreur de syntaxe à la ligne 1, près de « </p>{% /p %} »."),
])
def test_template_syntax_errors_are_named_in_french(app, source, french):
    with app.test_request_context(), force_locale("fr"):
        assert templating.find_problems(source) == [french]
