"""Rich text in stems and options: what authors may write, and what never survives."""

import pytest

from dreamseed.itembank.sanitize import (
    DATA_IMAGE_MAX_CHARS,
    html_render,
    images_without_alt,
    option_clean,
    option_source,
    plain_text,
    stem_clean,
    stem_source,
)

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<img src="javascript:alert(1)">',
        '<p onclick="alert(1)">hi</p>',
        '<a href="javascript:alert(1)">link</a>',
        "<iframe src=//evil.example></iframe>",
        '<svg onload="alert(1)"><circle/></svg>',
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        "<style>body{display:none}</style>",
        '<span style="position:fixed">x</span>',
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
        '<img src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">',
        '<object data="evil.swf"></object>',
        '<form action="//evil"><input name=x></form>',
        "<!-- comment --><base href=//evil.example>",
        "$x</span><script>alert(1)</script>$",
    ],
)
def test_attacks_are_made_inert(attack):
    for clean in (stem_clean(attack), option_clean(attack)):
        lowered = clean.lower()
        for marker in ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe",
                       "<svg", "<style", "style=", "<object", "<form", "<base", "svg+xml",
                       "text/html", "<a ", "<!--"):  # fmt: skip
            assert marker not in lowered, (attack, clean)


def test_authors_write_plain_text_with_paragraphs_and_math():
    stem = stem_clean("If $x < 3$ and $y > x^2$,\nwhat is $\\frac{x}{y}$?\n\nChoose one.")
    assert stem == (
        "<p>If $x &lt; 3$ and $y &gt; x^2$,<br>what is $\\frac{x}{y}$?</p><p>Choose one.</p>"
    )
    # What the editor shows is what the author typed, and saving it again changes nothing.
    source = stem_source(stem)
    assert source == "If $x < 3$ and $y > x^2$,\nwhat is $\\frac{x}{y}$?\n\nChoose one."
    assert stem_clean(source) == stem


def test_allowed_markup_is_kept():
    html = (
        "<p><strong>Bold</strong> <em>it</em> H<sub>2</sub>O x<sup>2</sup> <code>a+b</code> "
        '<span class="unit">cm</span></p><ul><li>one</li></ul><ol><li>two</li></ol>'
    )
    assert stem_clean(html) == html
    assert stem_source(stem_clean(html)) == stem_clean(html)  # rich HTML is edited as HTML


STORED = "/media/items/" + "ab" * 32 + ".png"


def test_images_only_from_the_item_images_or_small_inline_pngs():
    assert stem_clean(f'<img src="{STORED}" alt="A graph">') == (
        f'<p><img src="{STORED}" alt="A graph"></p>'
    )
    assert PNG in stem_clean(f'<img src="{PNG}" alt="">')
    for src in ("https://elsewhere.example/x.png", "//elsewhere.example/x.png", "x.png",
                "/media/items/graph.png", "/media/reports/1.pdf", "/items/1/retire/",
                STORED + "?x=1", "/media/items/../" + "ab" * 32 + ".png",
                "data:image/png;base64," + "A" * DATA_IMAGE_MAX_CHARS):  # fmt: skip
        # An image whose source is refused would show nothing: it goes, alt text and all.
        assert stem_clean(f'Look <img src="{src}" alt="a map">') == "<p>Look </p>", src
        assert option_clean(f'<img src="{src}" alt="a map"> B') == "B", src
        assert html_render(f'<p><img src="{src}" alt="a map"></p>') == "<p></p>", src


def test_images_without_alt_text_are_counted():
    assert images_without_alt(stem_clean(f'<img src="{STORED}" alt="A graph">')) == 0
    for html in (f'<img src="{STORED}">', f'<img src="{STORED}" alt="">',
                 f'<img src="{STORED}" alt="  ">', f'<img src="{STORED}" alt="&nbsp;">'):  # fmt: skip
        assert images_without_alt(stem_clean(html)) == 1, html
    two = option_clean(f'<img src="{STORED}" alt="x &gt; y"><img src="{PNG}" alt="">')
    assert images_without_alt(two) == 1


def test_options_are_inline():
    assert option_clean("<p>$x^2$</p>\n<em>or</em> <ul><li>y</li></ul>") == "$x^2$<br><em>or</em> y"
    assert option_source(option_clean("a\nb $c<d$")) == "a\nb $c<d$"


def test_plain_text_excerpts():
    assert plain_text("<p>a &lt; b &amp; c</p><p>two</p>") == "a < b & c two"
    assert plain_text("<p>" + "word " * 50 + "</p>", 20) == "word word word word…"
