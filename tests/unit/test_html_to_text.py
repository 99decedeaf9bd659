"""The plain-text part derived from an HTML body reads like the HTML does."""

from webapp.services.templating import html_to_text


def test_inline_tags_keep_the_spaces_around_them():
    html = ("<p>Nous avons bien reçu votre candidature <strong>MIS-PVLEFMIB</strong> à la "
            "campagne <em>Bourses</em>, statut <b>Accepté</b>.</p>")
    assert html_to_text(html) == ("Nous avons bien reçu votre candidature MIS-PVLEFMIB à la "
                                  "campagne Bourses, statut Accepté.\n")


def test_no_space_is_invented_where_the_html_has_none():
    assert html_to_text("<p>un<strong>mot</strong>seul</p>") == "unmotseul\n"


def test_a_link_shows_its_target_once():
    html = ('<p>Suivez-la ici : <a href="https://x.example/my/1">https://x.example/my/1</a></p>'
            '<p>Voir <a href="https://x.example/d">votre dossier</a>.</p>'
            '<p>Écrivez à <a href="mailto:aide@x.example">aide@x.example</a>.</p>')
    assert html_to_text(html) == ("Suivez-la ici : https://x.example/my/1\n\n"
                                  "Voir votre dossier (https://x.example/d).\n\n"
                                  "Écrivez à aide@x.example.\n")


def test_paragraphs_breaks_and_lists():
    html = ("<p>Bonjour,</p><p>ligne un<br>ligne deux</p>"
            "<ul><li>premier <em>point</em></li><li>second</li></ul>"
            "<ol><li>un</li><li>deux</li></ol><p>Fin</p>")
    text = html_to_text(html)
    assert text.startswith("Bonjour,\n\nligne un\nligne deux\n")
    lines = text.splitlines()
    assert [line.strip() for line in lines if "point" in line or "second" in line] == \
        ["* premier point", "* second"]
    assert [line.strip() for line in lines if line.strip() in ("1. un", "2. deux")] == \
        ["1. un", "2. deux"]
    assert text.endswith("Fin\n")


def test_non_breaking_spaces_stay_spaces():
    text = html_to_text("<p>Date limite&nbsp;: 31&nbsp;mars&#160;2027</p>")
    assert " ".join(text.split()) == "Date limite : 31 mars 2027"


def test_entities_are_decoded_and_empty_bodies_are_empty():
    assert html_to_text("<p>R&amp;D &lt;2027&gt;</p>") == "R&D <2027>\n"
    assert html_to_text("") == "\n"
    assert html_to_text("   ") == "\n"
