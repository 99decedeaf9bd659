"""The message builder: headers a relay accepts as they are, and that read back as written."""

import email
import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.core.addresses import InvalidAddress
from webapp.outbox.mime import build_message

ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


@dataclass
class Row:
    id: int = 7
    message_id: str = "<0123456789abcdef@missive.example.org>"
    to_addr: str = "camille@example.org"
    to_name: str = "Camille Martin"
    cc: str = ""
    bcc: str = ""
    sender: str = ""
    reply_to: str = ""
    subject: str = "Your application was received"
    body_html: str = "<p>Bonjour Camille, votre dossier est complet.</p>"
    body_text: str = "Bonjour Camille, votre dossier est complet."
    headers: dict = field(default_factory=lambda: {"Auto-Submitted": "auto-generated"})


@dataclass
class Settings:
    default_sender: str = "Missive <no-reply@missive.example.org>"
    redirect_all_to: str | None = None


def built(row: Row | None = None, config: Settings | None = None, **kwargs):
    return build_message(row or Row(), config or Settings(), **kwargs)


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def parsed_head(data: bytes) -> email.message.EmailMessage:
    """The headers only, read by the same header classes as `parsed`: the generated tests
    check thousands of headers, and parsing each body's MIME parts as well took most of
    their time."""
    return email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(data)


def head_lines(data: bytes) -> list[str]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "\n" not in head.replace("\r\n", "")  # no bare line feed anywhere
    return head.split("\r\n")


def header_lines(data: bytes, name: str) -> list[str]:
    """The physical lines of one header: its first line and its continuation lines."""
    lines, found = [], False
    for line in head_lines(data):
        if line.startswith(f"{name}:"):
            found = True
        elif found and line[:1] not in (" ", "\t"):
            break
        if found:
            lines.append(line)
    assert found, name
    return lines


def assert_within_limits(data: bytes) -> None:
    for line in head_lines(data):
        assert len(line) <= 998
        words = ENCODED_WORD.findall(line)
        if words:
            assert len(line) <= 76, line
            assert all(len(word) <= 75 for word in words), line
        else:
            # Longer only when one unfoldable token (an address) fills the line.
            assert len(line) <= 78 or " " not in line.strip(), line


def decoded_display_name(data: bytes, header: str) -> str:
    """The display name as an RFC 2047 decoder reads it: the whitespace between two adjacent
    encoded words is ignored (RFC 2047 6.2)."""
    value = "".join(line for line in header_lines(data, header))[len(header) + 1:]
    ((name, _),) = getaddresses([value])
    return str(make_header(decode_header(name)))


# --- The message as a whole ----------------------------------------------------------------


def test_a_text_and_html_message_reads_back_with_its_headers_and_both_parts():
    row = Row(cc="lea@example.org; hugo@example.org", bcc="jury@example.org",
              reply_to="contact@example.org",
              headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"})
    envelope_from, recipients, data = built(row)
    assert envelope_from == "no-reply@missive.example.org"
    assert recipients == ["camille@example.org", "lea@example.org", "hugo@example.org",
                          "jury@example.org"]
    message = parsed(data)
    assert str(message["From"]) == "Missive <no-reply@missive.example.org>"
    assert str(message["To"]) == "Camille Martin <camille@example.org>"
    assert str(message["Cc"]) == "lea@example.org, hugo@example.org"
    assert message["Bcc"] is None and b"jury@" not in data  # Bcc only in the envelope
    assert str(message["Reply-To"]) == "contact@example.org"
    assert message["Message-ID"] == row.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text["Content-Transfer-Encoding"] == "base64"
    assert text.get_content() == row.body_text
    assert html.get_content() == row.body_html
    assert message.defects == []


def test_text_parts_end_their_lines_with_crlf_inside_the_base64_too():
    """RFC 2046 4.1.1: the line breaks of a text part are CRLF, in its decoded content."""
    _, _, data = built(Row(body_text="Bonjour,\n\nà bientôt.\r\nLa suite\rfin\n",
                           body_html="<p>a</p>\n<p>b</p>"))
    text, html = parsed(data).iter_parts()
    expected = "Bonjour,\r\n\r\nà bientôt.\r\nLa suite\r\nfin\r\n"
    assert text.get_payload(decode=True) == expected.encode()
    assert html.get_payload(decode=True) == b"<p>a</p>\r\n<p>b</p>"


def test_an_html_only_message_is_a_single_part():
    _, _, data = built(Row(body_text="", body_html="<p>Édition 2027</p>"))
    message = parsed(data)
    assert message.get_content_type() == "text/html"
    assert message.get_content() == "<p>Édition 2027</p>"


def test_redirect_all_sends_only_to_the_redirect_address_and_keeps_the_original_ones_readable():
    row = Row(cc="lea@example.org", bcc="jury@example.org")
    _, recipients, data = built(row, Settings(redirect_all_to="staging@example.org"))
    assert recipients == ["staging@example.org"]
    message = parsed(data)
    assert str(message["To"]) == "staging@example.org"
    assert message["Cc"] is None
    assert message["X-Missive-Original-Recipients"] == (
        "camille@example.org, lea@example.org, jury@example.org")


def test_the_row_sender_wins_over_the_default_and_an_encoded_name_is_refolded():
    # formataddr stores a non-ASCII name already encoded, in one word of any length.
    sender = "=?utf-8?b?w4lxdWlwZSBkZXMgcsOpc2lkZW5jZXMgZOKAmWFydGlzdGVzIGRlIGxhIFZpbGxhIE3DqWRpY2lz?= <residences@example.org>"  # noqa: E501
    envelope_from, _, data = built(Row(sender=sender))
    assert envelope_from == "residences@example.org"
    assert_within_limits(data)
    assert decoded_display_name(data, "From") == (
        "Équipe des résidences d’artistes de la Villa Médicis")


def test_the_date_is_in_numeric_utc_form():
    _, _, data = built(now=datetime(2027, 3, 1, 9, 30, tzinfo=UTC))
    assert "Date: Mon, 01 Mar 2027 09:30:00 +0000" in head_lines(data)
    (line,) = header_lines(built()[2], "Date")
    assert line.endswith(" +0000")


@pytest.mark.parametrize("field_name", ["to_addr", "cc", "bcc"])
def test_an_address_that_would_break_the_envelope_is_refused(field_name):
    with pytest.raises(InvalidAddress):
        built(Row(**{field_name: "camille@example.org>, x@example.org"}))


def test_a_line_break_in_a_header_value_never_starts_a_header():
    _, _, data = built(Row(subject="Hello\r\nBcc: everyone@example.org",
                           headers={"X-Note": "a\nX-Injected: yes"}))
    message = parsed(data)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"] == "Hello Bcc: everyone@example.org"


# --- Folding -------------------------------------------------------------------------------


def test_a_5000_character_ascii_subject_folds_at_its_spaces():
    subject = " ".join(f"word{i}" for i in range(800))[:5000].strip()
    _, _, data = built(Row(subject=subject))
    lines = header_lines(data, "Subject")
    assert len(lines) > 60
    assert all(len(line) <= 78 for line in lines)
    assert not any("=?" in line for line in lines)  # folded, not encoded
    assert parsed(data)["Subject"] == subject
    assert_within_limits(data)


def test_a_2000_character_subject_without_spaces_is_encoded_within_the_limits():
    subject = "x" * 2000
    _, _, data = built(Row(subject=subject))
    assert all(len(line) <= 76 for line in header_lines(data, "Subject"))
    assert parsed(data)["Subject"] == subject
    assert_within_limits(data)


def test_only_the_word_too_long_for_a_line_is_encoded():
    url = "https://example.org/" + "a" * 90
    subject = f"Please read {url} before Friday"
    _, _, data = built(Row(subject=subject))
    lines = header_lines(data, "Subject")
    assert lines[0] == "Subject: Please read"
    assert lines[-1].endswith(" before Friday")
    assert parsed(data)["Subject"] == subject
    assert_within_limits(data)


def test_a_long_non_ascii_subject_keeps_encoded_lines_within_76_characters():
    subject = "Votre candidature à l’appel « Résidences d’artistes 2027 » a bien été reçue. " * 8
    _, _, data = built(Row(subject=subject))
    assert parsed(data)["Subject"] == subject.strip()
    assert_within_limits(data)


def test_a_long_non_ascii_name_reads_back_identical():
    name = ("Éléonore-Marie de la Rochefoucauld-Montmorency Saint-Exupéry van der Berghe "
            "Łukasz Ødegård-Ñúñez y Çelik")
    _, _, data = built(Row(to_name=name))
    assert_within_limits(data)
    assert parsed(data)["To"].addresses[0].display_name == name
    assert parsed(data)["To"].addresses[0].addr_spec == "camille@example.org"
    assert decoded_display_name(data, "To") == name


def test_a_name_longer_than_an_encoded_word_reads_back_in_an_rfc2047_decoder():
    name = "Александра Владимировна Покровская-Тимошенко"  # one run of 84 UTF-8 bytes
    _, _, data = built(Row(to_name=name))
    assert len(ENCODED_WORD.findall("".join(header_lines(data, "To")))) >= 2
    assert_within_limits(data)
    assert decoded_display_name(data, "To") == name
    assert parsed(data)["To"].addresses[0].addr_spec == "camille@example.org"


def test_an_ascii_name_with_specials_is_quoted_not_encoded():
    _, _, data = built(Row(to_name='Martin, Camille "Cam"'))
    (line,) = header_lines(data, "To")
    assert "=?" not in line
    assert parsed(data)["To"].addresses[0].display_name == 'Martin, Camille "Cam"'


# --- Generated subjects and names ----------------------------------------------------------

# Any character but surrogates (not encodable) and line breaks (removed: see the test above).
header_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=400)
words = st.text(st.characters(blacklist_categories=("Cs", "Z", "Cc")), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(subject=header_text)
def test_any_subject_reads_back_identical_within_the_limits(subject):
    _, _, data = built(Row(subject=subject))
    assert_within_limits(data)
    message = parsed_head(data)
    assert message["Subject"] == subject.strip(" \t")


@settings(max_examples=300, deadline=None)
@given(name=st.lists(words, min_size=1, max_size=12).map(" ".join))
def test_any_name_reads_back_identical_in_an_rfc2047_decoder(name):
    _, _, data = built(Row(to_name=name))
    assert_within_limits(data)
    assert decoded_display_name(data, "To") == name
    assert parsed_head(data)["To"].addresses[0].addr_spec == "camille@example.org"


# Words of a length that a run of them fits one encoded word: then even the email package's
# address parser, which keeps the whitespace between adjacent encoded words before CPython
# 3.14, reads the name back identical.
short_words = st.text(st.characters(blacklist_categories=("Cs", "Z", "Cc")), min_size=1,
                      max_size=8)
particles = st.sampled_from(["de", "la", "van", "der", "y", "Marie", "O'Neil", "Jean-Luc"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.tuples(short_words, particles), min_size=1, max_size=6))
def test_names_read_back_identical_with_the_email_package(parts):
    name = " ".join(f"{word} {particle}" for word, particle in parts)
    _, _, data = built(Row(to_name=name))
    assert_within_limits(data)
    assert parsed_head(data)["To"].addresses[0].display_name == name
