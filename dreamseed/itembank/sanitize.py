"""Safe rich text for item stems and options.

Authors write plain text (blank lines start paragraphs), a small subset of HTML, and math as
LaTeX between ``$...$`` or ``\\(...\\)`` (rendered in the browser by the vendored KaTeX). What
is stored is what nh3 lets through: no scripts, no event handlers, no style attributes, no
links, and images only from this site (``/media/...``) or small inline PNG/JPEG/GIF/WebP data.
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
    # Relative to this site only: "/media/x.png" but not "//evil.example/x.png" or "x:y".
    return src.startswith("/") and not src.startswith("//") and "\\" not in src


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
    return _cleaner(True).clean(_paragraphs(_protect_math(text))).strip()


def option_clean(raw: str) -> str:
    """The stored form of an option: one line of inline markup, sanitised."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return _cleaner(False).clean(_protect_math(text).replace("\n", "<br>")).strip()


def html_render(stored: str, *, block: bool = True) -> str:
    """Sanitise again at render time (cheap: nh3 is Rust) for defence in depth."""
    return _cleaner(block).clean(stored or "")


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
