"""Letters as PDF: a letter template's rendered body laid out on the platform's page.

The body is rendered by the email templates' sandbox (webapp.services.templating), then cut
down to a short whitelist of tags (paragraphs, emphasis, lists, headings, links) before the
PDF library sees it: no image, frame, object, style or font a template names ever reaches
it, so rendering never reads a local file nor fetches a URL. The page layout (logo, the
platform's address, the date, the signature, the footer) is the platform's, from settings;
the logo is a file the sysadmin names in the configuration, read by the app itself.

A DejaVu Sans font is embedded (fpdf2's own fonts are Latin-1 only): accents and most
scripts survive. A letter written in Latin letters is set with its Latin cut, far quicker to
read and subset (webapp.services.letter_fonts).
"""

import html as html_entities
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import nh3
from flask import current_app
from flask_babel import lazy_gettext as _l
from fpdf import FPDF

from webapp.services import letter_fonts, templating
from webapp.services.templating import RenderContext, TemplateProblem

FONT_DIR = letter_fonts.FONT_DIR
FONT = "DejaVu"
LETTER_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h1", "h2", "h3",
               "blockquote", "a"}
LETTER_ATTRIBUTES = {"a": {"href"}}
LETTER_URL_SCHEMES = {"http", "https", "mailto"}
# What a letter template may not name: anything that would load a resource.
_RESOURCE_TAGS = re.compile(r"<\s*(img|image|object|embed|iframe|frame|link|svg|video|audio|"
                            r"source|picture|script|style|base|meta|input)\b", re.I)
_LOCAL_URL = re.compile(r"\b(file|data|ftp|jar|smb)\s*:", re.I)


_BARE_LINK = re.compile(r"<a>(.*?)</a>", re.S)


class LetterProblem(TemplateProblem):
    """A letter that cannot be rendered; the reason is for people."""


def source_problems(html: str) -> list[str]:
    """What a letter template's HTML may not hold, in words (checked when it is saved)."""
    problems = []
    if _RESOURCE_TAGS.search(html or ""):
        problems.append(str(_l("A letter cannot show images, frames or files named in its "
                               "text: the logo is the platform's own. Remove them.")))
    if _LOCAL_URL.search(html or ""):
        problems.append(str(_l("A letter cannot link to files (file:, data:, …): only web "
                               "and email addresses.")))
    return problems


def clean(html: str) -> str:
    """The letter's HTML cut down to what the PDF library is given."""
    html = nh3.clean(html or "", tags=LETTER_TAGS, attributes=LETTER_ATTRIBUTES,
                     url_schemes=LETTER_URL_SCHEMES, link_rel=None, strip_comments=True)
    # A link whose address was refused is left as its text.
    return _BARE_LINK.sub(r"\1", html)


@dataclass(frozen=True)
class Layout:
    """The platform's page around every letter."""

    platform_name: str
    address: str = ""  # the platform's postal address, several lines
    signature: str = ""
    footer: str = ""
    logo: bytes | None = None  # a PNG or JPEG, read by the app from LETTER_LOGO_PATH


def layout_from_config() -> Layout:
    config = current_app.config
    logo = None
    if config.get("LETTER_LOGO_PATH"):
        try:
            logo = Path(config["LETTER_LOGO_PATH"]).read_bytes()
        except OSError:
            current_app.logger.warning("LETTER_LOGO_PATH cannot be read: letters go without")
    return Layout(platform_name=config["PLATFORM_NAME"],
                  address=config.get("LETTER_ADDRESS") or "",
                  signature=config.get("LETTER_SIGNATURE") or "",
                  footer=config.get("LETTER_FOOTER") or "", logo=logo)


def _refuse_images(src: str) -> str:
    raise LetterProblem(str(_l("A letter cannot show images named in its text.")))


class _Page(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-15)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text}  ·  {self.page_no()}/{{nb}}"
                  if self.footer_text else f"{self.page_no()}/{{nb}}", align="C")


_ITALIC = re.compile(r"<(em|i)\b", re.I)


def _drawn_text(layout: Layout, html: str, ctx: RenderContext, dated: str, title: str) -> str:
    """Every character the letter may draw (the body's markup and entities decoded: its tags
    are ASCII), with the footer's page numbers and the lists' bullets."""
    return "".join((layout.platform_name, layout.address, layout.signature, layout.footer,
                    ctx.recipient_name or "", dated, title, html_entities.unescape(html),
                    "0123456789/·•"))


def _pdf(layout: Layout, html: str, drawn: str) -> _Page:
    pdf = _Page(format="A4", unit="mm")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=22)
    fonts = letter_fonts.LATIN if letter_fonts.in_latin_cut(drawn) else letter_fonts.WHOLE
    regular, bold = str(fonts[""]), str(fonts["B"])
    # Each font costs a parse of its file: the italic styles (drawn upright, DejaVu Sans
    # has no italic here) only when the letter uses them.
    pdf.add_font(FONT, "", regular)
    pdf.add_font(FONT, "B", bold)
    if _ITALIC.search(html):
        pdf.add_font(FONT, "I", regular)
        pdf.add_font(FONT, "BI", bold)
    pdf.footer_text = layout.footer
    pdf.set_title(layout.platform_name)
    pdf.set_creator(layout.platform_name)
    return pdf


def render_pdf(body_html: str, ctx: RenderContext, layout: Layout,
               letter_date: date | None = None, title: str = "") -> bytes:
    """The letter as PDF bytes; LetterProblem (a TemplateProblem) when it cannot be made."""
    html = clean(templating.render(body_html, ctx, html=True))
    try:
        when = letter_date or ctx.today
        dated = templating.long_date(when, ctx.locale, ctx.timezone)
        pdf = _pdf(layout, html, _drawn_text(layout, html, ctx, dated, title))
        pdf.add_page()
        if layout.logo:
            pdf.image(io.BytesIO(layout.logo), x=20, y=14, h=16)
            pdf.set_y(34)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(90, 5, layout.platform_name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)
        if layout.address:
            pdf.multi_cell(90, 4.5, layout.address, new_x="LMARGIN", new_y="NEXT")
        # The recipient's block, on the right.
        pdf.set_xy(115, pdf.get_y() + 6)
        pdf.set_font(FONT, "", 11)
        pdf.multi_cell(75, 5.5, ctx.recipient_name or "", new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(115, pdf.get_y() + 4)
        pdf.multi_cell(75, 5.5, dated, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(10)
        if title:
            pdf.set_font(FONT, "B", 12)
            pdf.multi_cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_font(FONT, "", 11)
        pdf.write_html(html, font_family=FONT, image_map=_refuse_images,
                       warn_on_tags_not_matching=False)
        if layout.signature:
            pdf.ln(8)
            pdf.set_x(115)
            pdf.multi_cell(75, 5.5, layout.signature, new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
    except TemplateProblem:
        raise
    except Exception as error:  # noqa: BLE001 — a letter that cannot be laid out is a problem
        raise LetterProblem(str(_l("The letter could not be made into a PDF: %(reason)s",
                                   reason=str(error) or type(error).__name__))) from error
