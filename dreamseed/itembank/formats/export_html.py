"""What both exporters need from an item's stored HTML: the images it uses (stored item images
and inline data: URLs, loaded and named by their content) and a safe copy of its text for XML.

Stored stems and options are nh3 output (see `itembank.sanitize`): lower-case tags, attributes
in double quotes, so an <img src="..."> is found reliably by a regular expression, and the
HTML parser below rebuilds the same tree as XML elements.
"""

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

from dreamseed.itembank.sanitize import ATTRIBUTES, STEM_TAGS

IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.IGNORECASE)
_DATA_URL = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,(.*)$", re.DOTALL | re.IGNORECASE)
# Characters XML 1.0 cannot carry at all (a stored stem could hold one pasted from a PDF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
VOID_TAGS = frozenset({"br", "img"})
BLOCK_TAGS = frozenset({"p", "ul", "ol"})


def xml_text(value) -> str:
    """`value` as text that XML can hold (the characters it cannot are dropped)."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def number_text(value: float) -> str:
    """A float as written in our files: Python's shortest exact form, so reading it back gives
    the same number."""
    return repr(float(value))


@dataclass(frozen=True)
class ExportImage:
    name: str  # "<sha256>.<ext>": the same bytes always get the same name
    data: bytes


def image_load(src: str) -> ExportImage | None:
    """The bytes of an image an item shows, or None if they cannot be found (an external or
    deleted file). Stored images are `/media/items/<sha256>.<ext>` in this school's storage;
    small ones may be inline `data:` URLs."""
    from dreamseed.itembank import media

    src = src.strip()
    match = _DATA_URL.match(src)
    if match:
        try:
            data = base64.b64decode("".join(match[2].split()), validate=True)
        except (binascii.Error, ValueError):
            return None
        ext = match[1].lower()
        return ExportImage(f"{hashlib.sha256(data).hexdigest()}.{ext}", data) if data else None
    if not src.startswith(media.IMAGE_URL_PREFIX):
        return None
    name = src[len(media.IMAGE_URL_PREFIX) :]
    opened = media.image_open(name)
    if opened is None:
        return None
    handle, _content_type = opened
    with handle:
        return ExportImage(name, handle.read())


def image_sources(html: str) -> list[str]:
    return [match[2] for match in IMG_SRC.finditer(html or "")]


def replace_image_sources(html: str, replace: Callable[[str], str]) -> str:
    """`html` with each <img src> passed through `replace` (nh3 output: no entities in src)."""
    return IMG_SRC.sub(lambda match: match[1] + replace(match[2]) + match[3], html or "")


class _TreeBuilder(HTMLParser):
    """Stored HTML into child elements of `parent`, keeping only the tags and attributes the
    sanitiser allows (anything else keeps its text but loses its markup)."""

    def __init__(self, parent: ET.Element, qualify: Callable[[str], str], image_src):
        super().__init__(convert_charrefs=True)
        self.stack = [parent]
        self.qualify = qualify
        self.image_src = image_src

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag not in STEM_TAGS:
            return
        allowed = ATTRIBUTES.get(tag, set())
        values = {name: xml_text(value) for name, value in attrs if name in allowed and value}
        if tag == "img":
            values["src"] = self.image_src(values.get("src", ""))
        element = ET.SubElement(self.stack[-1], self.qualify(tag), values)
        if tag not in VOID_TAGS:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag.lower() not in VOID_TAGS and tag.lower() in STEM_TAGS:
            self.stack.pop()

    def handle_endtag(self, tag):
        name = self.qualify(tag.lower())
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == name:
                del self.stack[index:]
                return

    def handle_data(self, data):
        data = xml_text(data)
        current = self.stack[-1]
        if len(current):
            current[-1].tail = (current[-1].tail or "") + data
        else:
            current.text = (current.text or "") + data


def html_into(parent: ET.Element, html: str, *, qualify, image_src) -> ET.Element:
    """Append the elements and text of stored `html` to `parent` (returned)."""
    builder = _TreeBuilder(parent, qualify, image_src)
    builder.feed(html or "")
    builder.close()
    return parent


def is_block_content(element: ET.Element, qualify) -> bool:
    """True when `element` holds only paragraphs and lists (and whitespace between them)."""
    if (element.text or "").strip():
        return False
    blocks = {qualify(tag) for tag in BLOCK_TAGS}
    return all(child.tag in blocks and not (child.tail or "").strip() for child in element)
