"""The placeholder engine used for every user-written email template: the allow-list of its
syntax, the sandbox, escaping and languages."""

from datetime import date, datetime

import pytest

from webapp.models import Application, Campaign, Status, User
from webapp.services import templating
from webapp.services.templating import RenderContext, TemplateProblem


def _context(first_name="Camille", locale="fr") -> RenderContext:
    candidate = User(first_name=first_name, last_name="Martin", email="camille@example.org")
    campaign = Campaign(label="Grants & bursaries", opens_at=datetime(2027, 1, 1),
                        closes_at=datetime(2027, 3, 31))
    accepted = Status(code="accepted", label_en="Accepted", label_fr="Accepté")
    application = Application(id=42, reference="MIS-ABCD", candidate=candidate,
                              campaign=campaign, status=accepted)
    return RenderContext(locale=locale, recipient_name=candidate.name,
                         recipient_email=candidate.email, platform_name="Missive",
                         base_url="https://missive.example.org/", today=date(2026, 11, 27),
                         application=application, new_status=accepted)


@pytest.mark.parametrize("source,needle", [
    ("{{ candidate_nmae }}", "Unknown placeholder: candidate_nmae"),
    ("Hi {{ cycler }}", "Unknown placeholder: cycler"),
    ("{{ range }}", "Unknown placeholder: range"),
    ("{{ lipsum() }}", "Line 1: a call (…()) is not allowed in an email template."),
    ("{% if %}", "Syntax error on line 1"),
    ("line one\n{{ status_label }\n", "Syntax error on line 2"),
])
def test_unknown_placeholders_and_syntax_errors_are_named(source, needle):
    problems = templating.find_problems(source)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ candidate_name.__class__.__init__.__globals__ }}",
    "{{ '{0.__class__}'.format(candidate_name) }}",
])
def test_the_sandbox_refuses_to_reach_python_internals(source):
    assert templating.find_problems(source)
    with pytest.raises(TemplateProblem):
        templating.render(source, _context(), html=True)


def test_valid_templates_have_no_problems():
    source = "<p>{{ recipient_name }}, {{ campaign_label }} closes {{ closing_date }}</p>"
    assert templating.find_problems(source) == []


def test_values_are_escaped_in_html_but_not_in_text():
    ctx = _context(first_name="<script>alert(1)</script>")
    html = templating.render("<p>{{ candidate_name }} / {{ campaign_label }}</p>", ctx, html=True)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Martin" in html
    assert "Grants &amp; bursaries" in html
    text = templating.render("{{ campaign_label }}", ctx, html=False)
    assert text == "Grants & bursaries"


def test_rendering_follows_the_recipient_language():
    source = "{{ status_label }} · {{ closing_date }}"
    assert templating.render(source, _context(locale="fr"), html=False) == "Accepté · 31 mars 2027"
    assert templating.render(source, _context(locale="en"), html=False) == \
        "Accepted · March 31, 2027"


def test_the_text_part_is_derived_from_the_html_when_empty():
    email = templating.render_email(
        "Re: {{ application_reference }}",
        '<p>Hello {{ recipient_name }},</p><ul><li>one</li><li>two</li></ul>'
        '<p><a href="{{ application_url }}">Open</a></p>', "", _context())
    assert email.subject == "Re: MIS-ABCD"
    assert email.text.startswith("Hello Camille Martin,\n\n  * one\n  * two\n\n"
                                 "Open (https://missive.example.org/my/applications/42)\n")


def test_conditions_comparisons_and_filters_render():
    source = ("{% if status_label == 'Accepted' and candidate_first_name in ['Camille', 'Sam'] %}"
              "Dear {{ recipient_name|title }}{% elif status_label is defined %}Hello"
              "{% endif %} [{{ campaign_label|upper }}] {{ '---' ~ application_reference|"
              "truncate(20) }} {{ 'yes' if not actor_name else 'no' }}")
    assert templating.render(source, _context(locale="en"), html=False) == \
        "Dear Camille Martin [GRANTS & BURSARIES] ---MIS-ABCD yes"


@pytest.mark.parametrize("source,what", [
    ("{% for word in campaign_label %}{{ word }}{% endfor %}", "the “for” tag"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "the “macro” tag"),
    ("{% set a = recipient_name %}{{ a }}", "the “set” tag"),
    ("{{ campaign_label.split() }}", "a call (…())"),
    ("{{ campaign_label.upper }}", "an attribute (.name)"),
    ("{{ campaign_label[0] }}", "a subscript ([…])"),
    ("{{ 9 ** 99 }}", "arithmetic (+ - * / **)"),
    ("{{ 'x' * 3 }}", "arithmetic (+ - * / **)"),
])
def test_constructs_that_repeat_or_grow_a_value_are_refused_naming_their_line(source, what):
    assert templating.find_problems(f"Hello\n{source}") == [
        f"Line 2: {what} is not allowed in an email template."]
    with pytest.raises(TemplateProblem, match="not allowed"):
        templating.render(source, _context(), html=False)


def test_filter_arguments_are_plain_values():
    assert templating.find_problems("{{ recipient_name|truncate(-5) }}") == [
        "Line 1: the arguments of “truncate” must be plain values."]
    assert templating.find_problems("{{ recipient_name|default(campaign_label) }}") == [
        "Line 1: the arguments of “default” must be plain values."]
    assert templating.find_problems("{{ recipient_name|center(9999999) }}") == [
        "Syntax error on line 1: unknown filter “center”"]


@pytest.mark.parametrize("source", [
    "{{ [1, 2].append(3) }}",
    "{{ recipient_name.replace('a', 'b') }}",
    "{{ (1).to_bytes(100000000, 'big') }}",
])
def test_methods_that_change_or_grow_values_are_refused(source):
    with pytest.raises(TemplateProblem):
        templating.render(source, _context(), html=False)


def test_an_unknown_filter_or_test_is_named_not_raised():
    assert any("unknown filter “nofilter”" in p
               for p in templating.find_problems("{{ recipient_name|nofilter }}"))
    assert templating.find_problems("{% if recipient_name is notatest %}x{% endif %}")
    with pytest.raises(TemplateProblem):
        templating.render("{{ recipient_name|nofilter }}", _context(), html=False)
