"""What Moodle XML and GIFT files share: Moodle's text formats, question names as ids, question
categories as content areas, embedded images, and the DreamSeed fields we keep in Moodle tags.

The readers (`moodlexml.read`, `gift.read`) are pure: text in, a `ForeignFile` out (the raw item
dicts that `validation.item_values_clean` checks, the problems found, and the images to store).
Nothing here touches the database or storage.
"""

import base64
import binascii
import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote

from django.utils.translation import gettext as _

MAX_PROBLEMS = 200
DEFAULT_CATEGORY_PREFIX = "Default for "  # the category Moodle makes for each course
EXTERNAL_ID_MAX = 64
CONTENT_AREA_MAX = 80
# Tags like "dreamseed:b=-0.3" carry our fields through Moodle (see IMPORT_FORMAT.md).
DREAMSEED_TAG_PREFIX = "dreamseed:"
# Flat fields as a CSV line has them: item metadata and parameters, and the partial-credit rules
# of the item's answer (scoring, partial_tolerance, max_points), which Moodle only approximates.
DREAMSEED_FIELDS = (
    "status", "model", "a", "b", "c", "d", "se_a", "se_b", "se_c", "subject", "grade",
    "scoring", "partial_tolerance", "max_points",
)  # fmt: skip
# Repeated tags, in order: one per standard, one per GPCM/GRM category step.
DREAMSEED_LIST_FIELDS = {"standard": "standards", "step": "steps"}

# Moodle's text formats, by the names each file format uses.
HTML, MOODLE_AUTO, PLAIN, MARKDOWN = "html", "moodle", "plain", "markdown"
_PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([^\"'<>\s)]+)")
_OUTER_PARAGRAPH = re.compile(r"^\s*<p(?:\s[^>]*)?>(.*)</p>\s*$", re.DOTALL | re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p(?:\s[^>]*)?>", re.IGNORECASE)
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")
_ID_SEPARATORS = re.compile(r"[-._:]*-[-._:]*")


class ForeignFileError(Exception):
    """The file as a whole cannot be read (not XML, a DTD, too deep, no questions...)."""


@dataclass
class ForeignQuestion:
    line: int | None  # where the question starts in the file
    number: int  # 1-based among the questions (categories are not counted)
    raw: dict  # the item as validation.item_values_clean takes it


@dataclass
class ForeignProblem:
    line: int | None
    number: int | None
    column: str | None
    message: str


@dataclass
class ForeignFile:
    questions: list[ForeignQuestion] = field(default_factory=list)
    problems: list[ForeignProblem] = field(default_factory=list)
    assets: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # url: (bytes, ext)
    truncated: bool = False

    def add(self, line, number, message, column=None) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(ForeignProblem(line, number, column, str(message)))


# --- Text --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def text_html(text: str, text_format: str) -> str:
    """Moodle text in one of its formats as HTML for our sanitiser (which runs afterwards).

    `html` and Moodle's auto-format are passed on: our sanitiser already turns plain lines into
    paragraphs and keeps the safe markup, as Moodle's auto-format does. Plain text is escaped,
    Markdown rendered (CommonMark).
    """
    if text_format == PLAIN:
        return html.escape(text, quote=False)
    if text_format == MARKDOWN:
        return _markdown().render(text)
    return text


def option_html(text: str) -> str:
    """An answer's HTML as one line of inline markup: editors wrap answers in <p>."""
    match = _OUTER_PARAGRAPH.match(text)
    if match and "<p" not in match.group(1).lower():
        return match.group(1).strip()
    return _PARAGRAPH_BREAK.sub("<br>", text).strip()


# --- Images ------------------------------------------------------------------------------------


def file_bytes(encoded: str) -> bytes | None:
    """The bytes of a base64 <file> element, or None if it is not base64."""
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def images_rewrite(
    text: str, files: dict[str, bytes], found: ForeignFile, line, number, column
) -> str:
    """Point `@@PLUGINFILE@@/name` references at our stored copies of the embedded files.

    The bytes go to `found.assets` (stored only when the import is confirmed). A reference to a
    file that is missing or is not an image is a problem.
    """
    if "@@PLUGINFILE@@" not in text:
        return text
    from dreamseed.itembank import media

    def replace(match) -> str:
        name = unquote(match.group(1)).lstrip("/")
        data = files.get(name)
        if data is None:
            found.add(
                line,
                number,
                _("The image “%(name)s” is referenced but not included in the file.")
                % {"name": name[:80]},
                column,
            )
            return match.group(0)
        try:
            ext = media.image_check(data, name)
        except media.ImageError as error:
            found.add(line, number, f"{name[:80]}: {error}", column)
            return match.group(0)
        url = media.image_url(data, ext)
        found.assets[url] = (data, ext)
        return url

    return _PLUGINFILE.sub(replace, text)


# --- Names, categories, DreamSeed tags ---------------------------------------------------------


class NameIds:
    """External ids from question names: stable (the same file gives the same ids) and unique
    within the file ("Question 1", "Question 1-2", ...). A name with nothing usable in it (only
    symbols, or a script we cannot spell in ASCII) gives "", and the importer derives an id from
    the content instead."""

    def __init__(self, taken: set[str] | None = None):
        self.used: set[str] = set(taken or ())
        self.next_suffix: dict[str, int] = {}

    def from_name(self, name: str) -> str:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        letters = sum(ch.isalnum() for ch in name)
        if letters == 0 or sum(ch.isalnum() for ch in ascii_name) < letters:
            return ""  # a Korean name becomes an id derived from the content, not "1"
        base = _ID_UNSAFE.sub("-", ascii_name.strip())
        base = _ID_SEPARATORS.sub("-", base).strip("-._:")[: EXTERNAL_ID_MAX - 7]
        if not base:
            return ""
        candidate, counter = base, self.next_suffix.get(base, 1)
        while candidate in self.used:
            counter += 1
            candidate = f"{base}-{counter}"
        self.next_suffix[base] = counter
        self.used.add(candidate)
        return candidate

    def reserve(self, external_id: str) -> None:
        self.used.add(external_id)


def category_content_area(path: str) -> str:
    """The content area for a Moodle category path: its last part.

    `$course$/top/Algebra/Linear` -> `Linear`; `$course$/top`, `top` and Moodle's own
    "Default for <course>" categories -> "" (no area). A literal "/" in a category name is
    written "//" by Moodle.
    """
    parts = [
        part.replace("\x00", "/").strip()
        for part in path.replace("//", "\x00").split("/")
        if part.strip()
    ]
    while parts and ((parts[0].startswith("$") and parts[0].endswith("$")) or parts[0] == "top"):
        parts.pop(0)
    if not parts or parts[-1].startswith(DEFAULT_CATEGORY_PREFIX):
        return ""
    return parts[-1]


def dreamseed_fields(tags: list[str]) -> dict:
    """Our item fields from tags like `dreamseed:a=1.2` (other tags are ignored)."""
    values: dict = {}
    for tag in tags:
        tag = tag.strip()
        if not tag.lower().startswith(DREAMSEED_TAG_PREFIX) or "=" not in tag:
            continue
        name, _sep, value = tag[len(DREAMSEED_TAG_PREFIX) :].partition("=")
        name = name.strip().lower()
        if name in DREAMSEED_FIELDS:
            values[name] = value.strip()
        elif name in DREAMSEED_LIST_FIELDS:
            values.setdefault(DREAMSEED_LIST_FIELDS[name], []).append(value.strip())
    return values


def raw_item(
    *,
    external_id: str,
    content_area: str | None,
    kind: str,
    stem: str,
    options: list[dict] | None = None,
    correct_key: str = "",
    answer: dict | None = None,
    tags: list[str] | None = None,
) -> dict:
    """The raw item dict. Without our parameters in its tags an item leaves status and
    parameters out: a new one becomes a draft with default parameters, and an existing one
    (matched by id) keeps its own. Likewise its content area when no category came before it
    (`content_area` None)."""
    raw = {
        "external_id": external_id,
        "kind": kind,
        "stem": stem,
        "options": options or [],
        "correct_key": correct_key,
        "answer": answer or {},
    }
    if content_area is not None:
        raw["content_area"] = content_area[:CONTENT_AREA_MAX]
    raw.update(dreamseed_fields(tags or []))
    return raw
