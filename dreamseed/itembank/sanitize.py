"""Safe rich text for item stems and options.

Authors write plain text (blank lines start paragraphs), a small subset of HTML, and math as
LaTeX between ``$...$`` or ``\\(...\\)`` (rendered in the browser by the vendored KaTeX). What
is stored is what nh3 lets through: no scripts, no event handlers, no style attributes, no
links, and images only from the school's item images (``/media/items/<sha256>.<ext>``, see
media.py) or small inline PNG/JPEG/GIF/WebP data; an image left without a source is dropped.
The student view sanitises again when rendering, so a row written by any other path is inert.
"""

import re
from functools import lru_cache
from html import unescape

import nh3

STEM_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "sub", "sup", "img", "code", "span"}
OPTION_TAGS = {"br", "strong", "em", "sub", "sup", "img", "code", "span"}
ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "span": {"class"}}
# Inline images are convenient for a diagram or two; anything bigger belongs in a file.
DATA_IMAGE_MAX_CHARS = 150_000
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")
_SAFE_CLASS = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_BLOCK_TAG = re.compile(r"<\s*(p|ul|ol|li|br)\b", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n")
_TAG = re.compile(r"<[^>]*>")
# Math segments, in which "<" and ">" are comparison signs, not markup.
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.DOTALL)
_WHITESPACE = re.compile(r"\s+")
# Only the item images the bank stores and serves (media.image_save / itembank.views.item_image).
_ITEM_IMAGE_URL = re.compile(r"^/media/items/[0-9a-f]{64}\.(png|jpeg|gif|webp)$")
# nh3 serialises attribute values with ">" and '"' escaped, so a tag never holds a raw ">".
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_IMG_SRC = re.compile(r'\ssrc="')
_IMG_ALT = re.compile(r'\salt="([^"]*)"')


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _image_source_allowed(value) else None
    if tag == "img" and attribute in ("width", "height"):
        return value if value.isdigit() and 0 < int(value) <= 2000 else None
    if tag == "span" and attribute == "class":
        classes = [name for name in value.split() if _SAFE_CLASS.match(name)]
        return " ".join(classes) or None
    return value


def _image_source_allowed(src: str) -> bool:
    src = src.strip()
    if src.startswith("data:"):
        return len(src) <= DATA_IMAGE_MAX_CHARS and bool(_DATA_IMAGE.match(src))
    return bool(_ITEM_IMAGE_URL.match(src))


@lru_cache(maxsize=2)
def _cleaner(block: bool) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=STEM_TAGS if block else OPTION_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"data"},
        link_rel=None,
        strip_comments=True,
    )


def _clean(text: str, *, block: bool) -> str:
    """nh3, then drop the images whose source was refused: they would show nothing."""
    html = _cleaner(block).clean(text)
    if "<img" not in html:
        return html
    return _IMG_TAG.sub(lambda m: m.group(0) if _IMG_SRC.search(m.group(0)) else "", html)


def images_without_alt(html: str) -> int:
    """How many images in sanitised HTML have no alt text (missing, empty or only spaces)."""
    missing = 0
    for tag in _IMG_TAG.findall(html or ""):
        alt = _IMG_ALT.search(tag)
        if alt is None or not unescape(alt.group(1)).strip():
            missing += 1
    return missing


def _protect_math(text: str) -> str:
    """Escape "<" and ">" inside LaTeX so that `$a<b$` survives sanitising as text."""
    return _MATH.sub(lambda m: m.group(0).replace("<", "&lt;").replace(">", "&gt;"), text)


def _paragraphs(text: str) -> str:
    """Plain text (no block markup) into paragraphs: blank lines split, single newlines break."""
    if _BLOCK_TAG.search(text):
        return text
    chunks = [chunk.strip() for chunk in _BLANK_LINES.split(text) if chunk.strip()]
    return "".join("<p>" + chunk.replace("\n", "<br>") + "</p>" for chunk in chunks)


def stem_clean(raw: str) -> str:
    """The stored form of a stem: paragraphs, sanitised."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return _clean(_paragraphs(_protect_math(text)), block=True).strip()


def option_clean(raw: str) -> str:
    """The stored form of an option: one line of inline markup, sanitised."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return _clean(_protect_math(text).replace("\n", "<br>"), block=False).strip()


def html_render(stored: str, *, block: bool = True) -> str:
    """Sanitise again at render time (cheap: nh3 is Rust) for defence in depth."""
    return _clean(stored or "", block=block)


def _unprotect_math(text: str) -> str:
    return _MATH.sub(lambda m: m.group(0).replace("&lt;", "<").replace("&gt;", ">"), text)


_SIMPLE_PARAGRAPHS = re.compile(
    r"^<p>(?:(?!<p>|</p>).)*</p>(?:<p>(?:(?!<p>|</p>).)*</p>)*$", re.DOTALL
)


def stem_source(stored: str) -> str:
    """What the editor shows for a stored stem: plain paragraphs back as blank-line text (so a
    teacher edits what they typed); anything richer as the stored HTML."""
    if not _SIMPLE_PARAGRAPHS.match(stored or "") or re.search(r"<(ul|ol|li)\b", stored):
        return stored or ""
    paragraphs = stored[3:-4].split("</p><p>")
    return _unprotect_math("\n\n".join(p.replace("<br>", "\n") for p in paragraphs))


def option_source(stored: str) -> str:
    return _unprotect_math((stored or "").replace("<br>", "\n"))


def plain_text(html: str, limit: int | None = None) -> str:
    """Text of stored HTML for lists and search results (LaTeX left as written)."""
    text = _WHITESPACE.sub(" ", unescape(_TAG.sub(" ", html or ""))).strip()
    if limit is not None and len(text) > limit:
        return text[: limit - 1].rstrip() + "…"
    return text
