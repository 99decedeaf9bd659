"""The Latin cut of the letters' font holds, for its blocks, what the whole font holds."""

import pytest
from fontTools.ttLib import TTFont

from webapp.services import letter_fonts


@pytest.mark.parametrize("style", ["", "B"])
def test_the_latin_cut_draws_its_blocks_as_the_whole_font_does(style):
    whole, cut = TTFont(letter_fonts.WHOLE[style]), TTFont(letter_fonts.LATIN[style])
    in_blocks = {code: glyph for code, glyph in whole.getBestCmap().items()
                 if letter_fonts.in_latin_cut(chr(code))}
    assert len(in_blocks) > 1000
    assert cut.getBestCmap() == in_blocks
    for glyph in set(in_blocks.values()):
        assert cut["hmtx"][glyph] == whole["hmtx"][glyph]
        assert cut["glyf"][glyph].numberOfContours == whole["glyf"][glyph].numberOfContours
    assert len(cut.getGlyphOrder()) < len(whole.getGlyphOrder()) / 3


def test_a_text_outside_the_latin_blocks_takes_the_whole_font():
    assert letter_fonts.in_latin_cut("Zoé Łukasz-Müller, « Ŧ » — 12 € №\n")
    assert not letter_fonts.in_latin_cut("Вера")
    assert not letter_fonts.in_latin_cut("Ζωή")
    assert not letter_fonts.in_latin_cut("李")
