"""The fonts a letter embeds: DejaVu Sans, whole, and its Latin cut.

The PDF library reads every glyph of a font it is given (DejaVu Sans holds about 6,000) and
then cuts the embedded subset out of all of them, for every letter: most of a letter's cost.
Nearly every letter only draws Latin letters, punctuation and symbols, so a cut of DejaVu
Sans holding just these blocks (about 1,400 glyphs) ships next to it, and a letter whose text
stays within them is set with the cut; any other letter with the whole font. The glyphs, their
widths and their outlines are the same in both, and so is the embedded subset of a letter.

The cut is made from the whole fonts by `python -m webapp.services.letter_fonts` (`make
fonts`), after the whole fonts change or when LATIN_BLOCKS does.
"""

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
WHOLE = {"": FONT_DIR / "DejaVuSans.ttf", "B": FONT_DIR / "DejaVuSans-Bold.ttf"}
LATIN = {"": FONT_DIR / "DejaVuSans-Latin.ttf", "B": FONT_DIR / "DejaVuSans-Bold-Latin.ttf"}

# Unicode blocks of the Latin cut, first and last code point.
LATIN_BLOCKS = (
    (0x0020, 0x007E),  # Basic Latin (printable)
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x02B0, 0x036F),  # spacing modifier letters, combining diacritical marks
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # General Punctuation (quotes, dashes, bullets, …)
    (0x20A0, 0x20CF),  # currency symbols
    (0x2100, 0x214F),  # letterlike symbols (№, ™, …)
    (0x2190, 0x21FF),  # arrows
)
# What the layout draws on its own besides the text: line breaks and tabs are not glyphs.
_NOT_DRAWN = frozenset("\n\r\t")


def in_latin_cut(text: str) -> bool:
    """Whether every character of `text` is one the Latin cut holds as the whole font does."""
    return all(char in _NOT_DRAWN or any(first <= ord(char) <= last
                                         for first, last in LATIN_BLOCKS)
               for char in set(text))


def make_latin_cut(whole: Path, cut: Path) -> None:
    """Write the Latin cut of the font `whole` to `cut`: every glyph the Latin blocks reach
    (with what composes them), every table kept, and the font's own bounding box."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(whole, recalcTimestamp=False)
    head = font["head"]
    bbox = (head.xMin, head.yMin, head.xMax, head.yMax)
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True,
                             name_IDs=["*"], name_languages=["*"], legacy_kern=True,
                             layout_features=["*"], hinting=True, notdef_glyph=True)
    options.drop_tables = []
    options.prune_unicode_ranges = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for first, last in LATIN_BLOCKS
                                 for code in range(first, last + 1)])
    subsetter.subset(font)
    # The PDF states the font's bounding box: the whole font's, as before the cut.
    head.xMin, head.yMin, head.xMax, head.yMax = bbox
    font.recalcBBoxes = False
    font.save(cut)


def main() -> None:
    for style, whole in WHOLE.items():
        make_latin_cut(whole, LATIN[style])
        print(f"{LATIN[style].name} written")  # noqa: T201


if __name__ == "__main__":
    main()
