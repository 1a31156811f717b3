"""Read IMS QTI 2.1 (and 2.2) and 1EdTech QTI 3.0 content packages into item dicts.

A package is a zip with an ``imsmanifest.xml`` that lists ``assessmentItem`` resources. Each item
becomes the raw dict that `validation.item_values_clean` takes (see ITEM_FORMAT in the notes):
choiceInteraction -> single / multiple / truefalse, textEntryInteraction -> numeric or text,
orderInteraction -> ordering, extendedTextInteraction -> extended (never scored).

Nothing in a package is trusted or executed: the zip is checked for bombs, traversal and
symlinks before anything is read; XML is parsed with defusedxml (no DTD entities, no external
references); nothing outside the package is fetched; images are read from the package, checked
with `media.image_check` and referred to by their future `/media/...` URL. Every problem names
its place: ``imsmanifest.xml, resource 'item3': ...`` or ``items/q7.xml line 12,
<choiceInteraction>: ...``.
"""

import hashlib
import json
import math
import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass, field
from html import escape
from io import BytesIO
from urllib.parse import unquote
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.utils.translation import gettext as _

from dreamseed.itembank import media

MANIFEST = "imsmanifest.xml"
# The zip as uploaded, and what it may expand to: a 5,000-item package with a few images is a
# few megabytes; these leave room for big banks but not for a bomb.
PACKAGE_MAX_BYTES = 30_000_000  # the item file upload limit (IMPORT_MAX_BYTES)
PACKAGE_MAX_UNCOMPRESSED = 200_000_000
PACKAGE_MAX_ENTRIES = 50_000
ENTRY_MAX_BYTES = 20_000_000
# Text and images compress maybe 10:1; a thousand to one only happens on purpose.
MAX_RATIO = 200
RATIO_CHECK_ABOVE = 1_000_000

DREAMSEED_NS = "https://dreamseed.org/xsd/qti-metadata/v1"
QTI2_NAMESPACES = {
    "http://www.imsglobal.org/xsd/imsqti_v2p0": "2.0",
    "http://www.imsglobal.org/xsd/imsqti_v2p1": "2.1",
    "http://www.imsglobal.org/xsd/imsqti_v2p2": "2.2",
}
QTI3_NAMESPACE = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
ITEM_TYPE = re.compile(r"^imsqti_item_xmlv(\d)p(\d)$")

SUPPORTED = {"choiceInteraction", "textEntryInteraction", "orderInteraction"}
SUPPORTED |= {"extendedTextInteraction", "inlineChoiceInteraction"}
INTERACTION = re.compile(r"^[a-zA-Z]+Interaction$")
INLINE_INTERACTIONS = {"textEntryInteraction", "inlineChoiceInteraction", "endAttemptInteraction"}
# Feedback, templates and the like only make sense inside a QTI player: left out of the stem.
DROPPED = {
    "feedbackBlock", "feedbackInline", "modalFeedback", "templateBlock", "templateInline",
    "rubricBlock", "stylesheet", "script", "style", "audio", "video", "source", "track",
    "companionMaterialsInfo", "catalogInfo", "iframe", "embed",
    "form", "input", "button", "select", "textarea", "head", "title", "meta", "link", "param",
}  # fmt: skip
KEPT = {"p", "br", "strong", "em", "ul", "ol", "li", "sub", "sup", "code"}
RENAMED = {"b": "strong", "i": "em", "dl": "ul", "dt": "li", "dd": "li", "kbd": "code"}
PARAGRAPHS = {"div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address"}
PARAGRAPHS |= {"section", "article", "header", "footer", "aside", "nav", "figure", "tr"}
PARAGRAPHS |= {"figcaption", "caption", "contentBody", "itemBody", "prompt", "table"}
BLOCKS = PARAGRAPHS | {"p", "ul", "ol", "li", "tbody", "thead", "tfoot", "dl"}
OPTION_KEYS = "ABCDEF"
TRUE_WORDS = {"true", "yes", "right", "correct", "vrai", "verdadero", "cierto", "wahr", "richtig"}
TRUE_WORDS |= {"waar", "juist", "참", "예", "맞음", "t"}
FALSE_WORDS = {"false", "no", "wrong", "incorrect", "faux", "falso", "falsch", "onwaar"}
FALSE_WORDS |= {"onjuist", "거짓", "아니오", "틀림", "f"}
BLANK = "_____"
_SPACES = re.compile(r"\s+")
_OPTION_KEY = re.compile(r"^[A-Z0-9]{1,4}$")
_EXTERNAL_ID_BAD = re.compile(r"[^A-Za-z0-9._:-]+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
EXTERNAL_ID_MAX = 64


class QtiPackageError(Exception):
    """The package as a whole cannot be read (not a zip, a bomb, no manifest...)."""


@dataclass(frozen=True)
class QtiProblem:
    place: str  # "imsmanifest.xml, resource 'item3'" or "items/q7.xml line 12, <img>"
    message: str

    def __str__(self) -> str:
        return _("%(place)s: %(message)s") % {"place": self.place, "message": self.message}


@dataclass
class QtiItem:
    where: str  # the item file inside the package
    resource: str  # its identifier in the manifest
    raw: dict  # the raw item values (see ITEM_FORMAT)
    title: str = ""


@dataclass
class QtiPackage:
    version: str = ""
    items: list[QtiItem] = field(default_factory=list)
    problems: list[QtiProblem] = field(default_factory=list)
    # {url: (bytes, extension)}: images to save when the import is applied.
    assets: dict[str, tuple[bytes, str]] = field(default_factory=dict)


class _Problem(Exception):
    """One item cannot be read."""

    def __init__(self, place: str, message: str):
        super().__init__(place, message)
        self.problem = QtiProblem(place, str(message))

    def __str__(self) -> str:
        return str(self.problem)


# --- The zip ---------------------------------------------------------------------------------


def is_package(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _entry_name_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\\" in name:
        return _("it uses a backslash in its path")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return _("its path is absolute")
    if any(part == ".." for part in name.split("/")):
        return _("its path climbs out of the package with “..”")
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return _("it is a symbolic link")
    if info.flag_bits & 0x1:
        return _("it is encrypted")
    return None


class _Zip:
    """The package's entries, read within the limits."""

    def __init__(self, data: bytes):
        if len(data) > PACKAGE_MAX_BYTES:
            raise QtiPackageError(
                _("The package is larger than %(limit)s MB.")
                % {"limit": PACKAGE_MAX_BYTES // 1_000_000}
            )
        try:
            self.zip = zipfile.ZipFile(BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
            raise QtiPackageError(
                _("This is not a readable zip file (%(error)s).") % {"error": error}
            ) from error
        if len(infos) > PACKAGE_MAX_ENTRIES:
            raise QtiPackageError(
                _("The package has %(count)s files; at most %(limit)s are allowed.")
                % {"count": len(infos), "limit": PACKAGE_MAX_ENTRIES}
            )
        total = 0
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            problem = _entry_name_problem(info)
            if problem:
                raise QtiPackageError(
                    _("The package entry “%(name)s” is refused: %(problem)s.")
                    % {"name": info.filename[:200], "problem": problem}
                )
            if info.is_dir():
                continue
            total += info.file_size
            if info.file_size > ENTRY_MAX_BYTES:
                raise QtiPackageError(
                    _("The package entry “%(name)s” is larger than %(limit)s MB.")
                    % {"name": info.filename[:200], "limit": ENTRY_MAX_BYTES // 1_000_000}
                )
            if info.file_size > RATIO_CHECK_ABOVE and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise QtiPackageError(
                    _(
                        "The package entry “%(name)s” expands %(ratio)s times: "
                        "this looks like a zip bomb."
                    )
                    % {
                        "name": info.filename[:200],
                        "ratio": info.file_size // max(info.compress_size, 1),
                    }
                )
            if info.filename in self.entries:
                raise QtiPackageError(
                    _("The package has two entries named “%(name)s”.")
                    % {"name": info.filename[:200]}
                )
            self.entries[info.filename] = info
        if total > PACKAGE_MAX_UNCOMPRESSED:
            raise QtiPackageError(
                _("The package expands to more than %(limit)s MB.")
                % {"limit": PACKAGE_MAX_UNCOMPRESSED // 1_000_000}
            )
        self.read_total = 0
        # Shared stimuli (reading passages) rendered once: {path: (html, assets)}.
        self.stimuli: dict[str, tuple[str, dict]] = {}

    def read(self, name: str) -> bytes:
        info = self.entries[name]
        try:
            with self.zip.open(info) as handle:
                # The declared size is also what zipfile stops at, but do not rely on it alone.
                data = handle.read(ENTRY_MAX_BYTES + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as error:
            raise QtiPackageError(
                _("The package entry “%(name)s” cannot be read (%(error)s).")
                % {"name": name[:200], "error": error}
            ) from error
        self.read_total += len(data)
        if len(data) > ENTRY_MAX_BYTES or self.read_total > PACKAGE_MAX_UNCOMPRESSED:
            raise QtiPackageError(_("The package expands to more than it declares."))
        return data


# --- XML -------------------------------------------------------------------------------------


class _LineBuilder(ElementTree.TreeBuilder):
    """A tree builder that remembers the line each element starts on."""

    def __init__(self):
        super().__init__()
        self.parser = None
        self.lines: dict[int, int] = {}

    def start(self, tag, attrs):
        element = super().start(tag, attrs)
        self.lines[id(element)] = self.parser.parser.CurrentLineNumber
        return element


@dataclass
class _Document:
    name: str
    root: ElementTree.Element
    lines: dict[int, int]

    def where(self, element=None) -> str:
        if element is None:
            return self.name
        line = self.lines.get(id(element))
        if line is None:
            return f"{self.name}, <{_local(element)}>"
        return _("%(file)s line %(line)s, <%(element)s>") % {
            "file": self.name,
            "line": line,
            "element": _local(element),
        }


def _xml_parse(name: str, data: bytes) -> _Document:
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=False)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as error:
        raise _Problem(
            name,
            _(
                "the XML declares entities or refers to outside resources (%(error)s); "
                "such files are refused for safety."
            )
            % {"error": type(error).__name__},
        ) from error
    except ElementTree.ParseError as error:
        line = error.position[0] if error.position else "?"
        raise _Problem(
            _("%(file)s line %(line)s") % {"file": name, "line": line},
            _("the XML is not well-formed (%(error)s).") % {"error": str(error).split(":")[0]},
        ) from error
    return _Document(name, root, builder.lines)


def _namespace(element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _kebab_to_camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _local(element) -> str:
    """The element's name in QTI 2 spelling: qti-choice-interaction -> choiceInteraction."""
    tag = element.tag if isinstance(element.tag, str) else ""
    name = tag.rsplit("}", 1)[-1]
    if name.startswith("qti-"):
        return _kebab_to_camel(name[4:])
    return name


def _attr(element, name: str, default: str | None = None) -> str | None:
    """An attribute in QTI 2 (camelCase) or QTI 3 (kebab-case) spelling."""
    value = element.get(name)
    if value is None:
        value = element.get(re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), name))
    return default if value is None else value


def _children(element, name: str) -> list:
    return [child for child in element if _local(child) == name]


def _first(element, name: str):
    for child in element:
        if _local(child) == name:
            return child
    return None


def _descendants(element, name: str) -> list:
    return [child for child in element.iter() if _local(child) == name]


def _text_of(element) -> str:
    return _SPACES.sub(" ", "".join(element.itertext())).strip()


# --- HTML ------------------------------------------------------------------------------------


@dataclass
class _Context:
    package: "_Zip"
    document: _Document
    assets: dict
    interaction: object = None
    problems: list = field(default_factory=list)


def _text(value: str | None) -> str:
    return escape(_SPACES.sub(" ", value)) if value else ""


def _inner(element, context: _Context, inline: bool) -> str:
    parts = [_text(element.text)]
    for child in element:
        parts.append(_render(child, context, inline))
        parts.append(_text(child.tail))
    return "".join(parts)


def _is_block(element) -> bool:
    name = _local(element)
    return (
        name in BLOCKS
        or name == "rubricBlock"
        or (INTERACTION.match(name) is not None and name not in INLINE_INTERACTIONS)
    )


def _has_blocks(element) -> bool:
    return any(_is_block(child) for child in element)


def _block_content(element, context: _Context) -> str:
    """Children that mix text and blocks: each run of loose text becomes a paragraph."""
    parts: list[str] = []
    run = [_text(element.text)]

    def flush():
        html = "".join(run).strip()
        if html and html != BLANK:  # an answer box on a line of its own is no blank to fill
            parts.append(f"<p>{html}</p>")
        run.clear()

    for child in element:
        if _is_block(child):
            flush()
            parts.append(_render(child, context, False))
        else:
            run.append(_render(child, context, True))
        run.append(_text(child.tail))
    flush()
    return "".join(parts)


def _render(element, context: _Context, inline: bool) -> str:
    """One element as our small HTML (the sanitiser makes the final cut)."""
    if not isinstance(element.tag, str):  # a comment or processing instruction
        return ""
    name = _local(element)
    if _namespace(element) == MATHML_NS:
        return _math(element) if name == "math" else ""
    if name == "rubricBlock" and "candidate" in (element.get("view") or "").split():
        return _paragraph(element, context, inline)  # instructions meant for the student
    if _namespace(element) == DREAMSEED_NS or name in DROPPED:
        return ""
    if INTERACTION.match(name):
        if element is not context.interaction:
            return ""
        if name in ("textEntryInteraction", "inlineChoiceInteraction"):
            return BLANK
        prompt = _first(element, "prompt")
        if prompt is None:
            return ""
        return _paragraph(prompt, context, inline)
    if name in ("printedVariable", "templateVariable"):
        raise _Problem(
            context.document.where(element),
            _("template variables are not supported; export the item without them."),
        )
    if name == "img":
        return _image(element, context, _attr(element, "src") or "", element.get("alt"))
    if name == "object":
        if (element.get("type") or "").startswith("image/"):
            return _image(element, context, element.get("data") or "", _text_of(element))
        return _inner(element, context, inline)
    if name == "br":
        return "<br>"
    if name in ("td", "th"):
        return _inner(element, context, True) + " "
    if inline:
        content = _inner(element, context, True)
        if name in BLOCKS:
            return content + " "
        tag = RENAMED.get(name, name)
        return f"<{tag}>{content}</{tag}>" if tag in KEPT else content
    if name in PARAGRAPHS or name == "p":
        return _paragraph(element, context, inline)
    tag = RENAMED.get(name, name)
    content = _inner(element, context, inline)
    if tag in KEPT:
        return f"<{tag}>{content}</{tag}>"
    return content  # unknown wrappers (span with a class, a, label...): keep what is inside


def _paragraph(element, context: _Context, inline: bool) -> str:
    """A block that is a paragraph unless it holds paragraphs itself."""
    if inline:
        return _inner(element, context, True)
    if _has_blocks(element):
        content = _block_content(element, context)
    else:
        content = _inner(element, context, True).strip()
        content = f"<p>{content}</p>" if content and content != BLANK else ""
    if _local(element) in ("h1", "h2", "h3", "h4", "h5", "h6") and content.startswith("<p>"):
        content = "<p><strong>" + content[3:-4] + "</strong></p>"
    return content


def _math(element) -> str:
    """MathML as LaTeX for KaTeX: the file's own TeX annotation if it has one, else a
    translation of the common presentation elements."""
    tex = ""
    for annotation in element.iter(f"{{{MATHML_NS}}}annotation"):
        encoding = (annotation.get("encoding") or "").lower()
        if encoding in ("application/x-tex", "latex", "tex", "application/x-latex"):
            tex = (annotation.text or "").strip()
            break
    tex = tex or _tex(element).strip()
    if not tex:
        return ""
    if element.get("display") == "block":
        return escape(f"\\[{tex}\\]")
    return escape(f"\\({tex}\\)")


TEX_OPERATORS = {
    "×": "\\times ", "÷": "\\div ", "−": "-", "±": "\\pm ", "≤": "\\le ", "≥": "\\ge ",
    "≠": "\\ne ", "⋅": "\\cdot ", "·": "\\cdot ", "∞": "\\infty ", "π": "\\pi ", "→": "\\to ",
    "≈": "\\approx ", "°": "^{\\circ}", "∠": "\\angle ", "√": "\\surd ",
}  # fmt: skip
_TEX_SPECIAL = re.compile(r"([#$%&_{}])")


def _tex(element) -> str:
    """Presentation MathML as LaTeX: mi mn mo mtext mrow msup msub msubsup mfrac msqrt mroot
    mfenced; anything else contributes its children."""
    name = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
    children = [child for child in element if isinstance(child.tag, str)]
    parts = [_tex(child) for child in children]

    def group(index: int) -> str:
        return "{" + (parts[index] if index < len(parts) else "") + "}"

    text = _SPACES.sub(" ", element.text or "").strip()
    if name in ("mi", "mn"):
        return "".join(TEX_OPERATORS.get(c, _TEX_SPECIAL.sub(r"\\\1", c)) for c in text)
    if name == "mo":
        return TEX_OPERATORS.get(text, _TEX_SPECIAL.sub(r"\\\1", text))
    if name == "mtext":
        return "\\text{" + _TEX_SPECIAL.sub(r"\\\1", text) + "}"
    if name == "msup":
        return group(0) + "^" + group(1)
    if name == "msub":
        return group(0) + "_" + group(1)
    if name == "msubsup":
        return group(0) + "_" + group(1) + "^" + group(2)
    if name == "mfrac":
        return "\\frac" + group(0) + group(1)
    if name == "msqrt":
        return "\\sqrt{" + "".join(parts) + "}"
    if name == "mroot":
        return "\\sqrt[" + (parts[1] if len(parts) > 1 else "") + "]" + group(0)
    if name == "mfenced":
        opening, closing = element.get("open", "("), element.get("close", ")")
        opening, closing = (
            {"{": "\\{", "": "."}.get(opening, opening),
            {"}": "\\}", "": "."}.get(closing, closing),
        )
        separator = element.get("separators", ",")[:1] or ","
        return f"\\left{opening}" + separator.join(parts) + f"\\right{closing}"
    if name in ("annotation", "annotation-xml"):
        return ""
    if name == "semantics":
        return parts[0] if parts else ""
    return "".join(parts)


def package_path(base: str, href: str) -> str | None:
    """`href` (relative to the file at `base`) as a package entry name, or None if it is
    absolute, remote or climbs out of the package."""
    href = unquote(href.strip().split("#", 1)[0].split("?", 1)[0])
    if not href or "\\" in href or href.startswith("/") or _SCHEME.match(href):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), href))
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def _image(element, context: _Context, src: str, alt: str | None) -> str:
    where = context.document.where(element)
    src = src.strip()
    attributes = ""
    for size in ("width", "height"):
        value = (element.get(size) or "").strip()
        if value.isdigit():
            attributes += f' {size}="{value}"'
    if src.startswith("data:"):
        url = src  # the sanitiser keeps small inline PNG/JPEG/GIF/WebP and drops the rest
    else:
        if _SCHEME.match(src) or src.startswith("//"):
            raise _Problem(
                where,
                _(
                    "the image “%(src)s” is outside the package; "
                    "images are not fetched from the internet, put the file in the package."
                )
                % {"src": src[:200]},
            )
        path = package_path(context.document.name, src)
        if path is None:
            raise _Problem(
                where, _("the image path “%(src)s” leaves the package.") % {"src": src[:200]}
            )
        if path not in context.package.entries:
            raise _Problem(where, _("the image “%(path)s” is not in the package.") % {"path": path})
        data = context.package.read(path)
        try:
            ext = media.image_check(data, path)
        except media.ImageError as error:
            raise _Problem(where, str(error)) from error
        url = media.image_url(data, ext)
        context.assets[url] = (data, ext)
    return f'<img src="{escape(url)}" alt="{escape((alt or "").strip())}"{attributes}>'


# --- Items -----------------------------------------------------------------------------------


def external_id_from(identifier: str) -> str:
    """A QTI identifier in the characters our external ids allow."""
    value = _EXTERNAL_ID_BAD.sub("-", identifier.strip()).lstrip("._:-")
    if len(value) > EXTERNAL_ID_MAX:
        digest = hashlib.sha1(identifier.encode(), usedforsecurity=False).hexdigest()[:8]
        value = value[: EXTERNAL_ID_MAX - 9] + "-" + digest
    return value


def _values(declaration) -> list[str]:
    correct = _first(declaration, "correctResponse") if declaration is not None else None
    if correct is None:
        return []
    return [(value.text or "").strip() for value in _children(correct, "value")]


def _map_entries(declaration) -> list[tuple[str, float, bool | None]]:
    """(key, mapped value, case sensitive) for each mapEntry of the declaration's mapping."""
    mapping = _first(declaration, "mapping") if declaration is not None else None
    if mapping is None:
        return []
    entries = []
    for entry in _children(mapping, "mapEntry"):
        try:
            value = float(_attr(entry, "mappedValue", "0"))
        except ValueError:
            value = 0.0
        sensitive = _attr(entry, "caseSensitive")
        entries.append(
            (
                (_attr(entry, "mapKey") or "").strip(),
                value,
                None if sensitive is None else sensitive.strip().lower() == "true",
            )
        )
    return entries


def _choices(interaction, context: _Context) -> list[tuple[str, str]]:
    """(QTI identifier, option HTML) in document order."""
    choices = []
    for choice in interaction.iter():
        if _local(choice) not in ("simpleChoice", "inlineChoice"):
            continue
        text = _inner(choice, context, True).strip()
        choices.append(((_attr(choice, "identifier") or "").strip(), text))
    return choices


def _problem(context: _Context, element, message: str) -> _Problem:
    return _Problem(context.document.where(element), message)


def _option_keys(choices: list[tuple[str, str]]) -> dict[str, str]:
    """Our option key for each choice identifier: the identifier itself when every one is a
    key already (A, B, C... as our own export and many tools write them; the order of the
    options is kept as it is), else A, B, C... in document order."""
    identifiers = [identifier for identifier, _text in choices]
    if all(_OPTION_KEY.match(i) for i in identifiers) and len(set(identifiers)) == len(choices):
        return {identifier: identifier for identifier in identifiers}
    return {identifier: OPTION_KEYS[index] for index, identifier in enumerate(identifiers)}


def _choice_answer(raw, interaction, declaration, context: _Context, kind_hint: str) -> None:
    choices = _choices(interaction, context)
    if len(choices) > len(OPTION_KEYS):
        raise _problem(
            context,
            interaction,
            _("it has %(count)s choices; at most %(limit)s are supported.")
            % {"count": len(choices), "limit": len(OPTION_KEYS)},
        )
    keys = _option_keys(choices)
    correct = _values(declaration)
    if not correct:
        correct = [key for key, value, _s in _map_entries(declaration) if value > 0]
    unknown = [value for value in correct if value not in keys]
    if unknown:
        raise _problem(
            context,
            declaration,
            _("the correct response “%(value)s” is not one of the choices.")
            % {"value": unknown[0][:60]},
        )
    if not correct:
        raise _problem(context, declaration, _("there is no correct response."))
    max_choices = (_attr(interaction, "maxChoices") or "1").strip()
    cardinality = _attr(declaration, "cardinality", "single")
    if max_choices == "1" and cardinality == "single":
        if len(correct) != 1:
            raise _problem(context, declaration, _("give exactly one correct response."))
        words = [
            _SPACES.sub(" ", re.sub(r"<[^>]+>", "", text)).strip().casefold()
            for _i, text in choices
        ]
        looks_true_false = words[0] in TRUE_WORDS and words[1] in FALSE_WORDS if words else False
        if len(choices) == 2 and (kind_hint == "truefalse" or (not kind_hint and looks_true_false)):
            # The true statement is the first choice (our export writes T then F).
            raw["kind"] = "truefalse"
            raw["correct_key"] = "T" if correct[0] == choices[0][0] else "F"
            raw["options"] = []
            raw["answer"] = {}
            return
        raw["kind"] = "single"
        raw["correct_key"] = keys[correct[0]]
        raw["answer"] = {}
    else:
        raw["kind"] = "multiple"
        raw["correct_key"] = ""
        raw["answer"] = {"keys": sorted({keys[value] for value in correct})}
    raw["options"] = [{"key": keys[identifier], "text": text} for identifier, text in choices]


def _order_answer(raw, interaction, declaration, context: _Context) -> None:
    choices = _choices(interaction, context)
    if len(choices) > len(OPTION_KEYS):
        raise _problem(
            context,
            interaction,
            _("it has %(count)s choices; at most %(limit)s are supported.")
            % {"count": len(choices), "limit": len(OPTION_KEYS)},
        )
    keys = _option_keys(choices)
    correct = _values(declaration)
    if sorted(correct) != sorted(keys):
        raise _problem(
            context,
            declaration,
            _("the correct response must list every choice once, in the right order."),
        )
    raw["kind"] = "ordering"
    raw["correct_key"] = ""
    raw["options"] = [{"key": keys[identifier], "text": text} for identifier, text in choices]
    raw["answer"] = {"order": [keys[value] for value in correct]}


def _tolerance(document: _Document, identifier: str, value: float) -> float:
    """The absolute tolerance of an `equal` (or `equalRounded`) test on this response in the
    response processing, or 0 for an exact match."""
    processing = _first(document.root, "responseProcessing")
    if processing is None:
        return 0.0
    for test in processing.iter():
        name = _local(test)
        if name not in ("equal", "equalRounded"):
            continue
        variables = [_attr(v, "identifier") for v in test if _local(v) == "variable"]
        if identifier not in variables:
            continue
        if name == "equalRounded":
            figures = _attr(test, "figures", "")
            if (_attr(test, "roundingMode") or "") == "decimalPlaces" and figures.isdigit():
                return 0.5 * 10 ** -int(figures)
            continue
        mode = _attr(test, "toleranceMode", "exact")
        try:
            bounds = [abs(float(part)) for part in (_attr(test, "tolerance") or "0").split()]
        except ValueError:
            continue
        # Our tolerance is symmetric: the tighter of the two bounds, never more lenient.
        tolerance = min(bounds) if bounds else 0.0
        if mode == "absolute":
            return tolerance
        if mode == "relative":
            return abs(value) * tolerance / 100
    return 0.0


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _entry_answer(raw, interaction, declaration, context: _Context) -> None:
    base_type = _attr(declaration, "baseType", "string")
    entries = _map_entries(declaration)
    correct = _values(declaration)
    if base_type in ("float", "integer"):
        if not correct:
            positive = sorted((e for e in entries if e[1] > 0), key=lambda e: -e[1])
            correct = [positive[0][0]] if positive else []
        if not correct:
            raise _problem(context, declaration, _("there is no correct response."))
        value = _number(correct[0])
        if value is None:
            raise _problem(
                context,
                declaration,
                _("the correct response “%(value)s” is not a number.") % {"value": correct[0][:60]},
            )
        identifier = _attr(interaction, "responseIdentifier")
        raw["kind"] = "numeric"
        raw["answer"] = {
            "value": int(value) if base_type == "integer" else value,
            "tolerance": _tolerance(context.document, identifier, value),
            "units": [],
            "unit_required": False,
        }
    elif base_type == "string":
        accepted = []
        sensitive = False
        for value in correct:
            if value and value not in accepted:
                accepted.append(value)
        for key, mapped, case in entries:
            if mapped > 0 and key and key not in accepted:
                accepted.append(key)
            if mapped > 0 and case:
                sensitive = True
        processing = _first(context.document.root, "responseProcessing")
        if processing is not None:
            for match in _descendants(processing, "stringMatch"):
                if (_attr(match, "caseSensitive") or "").lower() == "true":
                    sensitive = True
        if not accepted:
            raise _problem(context, declaration, _("there is no correct response."))
        raw["kind"] = "text"
        raw["answer"] = {"accepted": accepted, "case_sensitive": sensitive}
    else:
        raise _problem(
            context,
            declaration,
            _("a text entry of base type “%(type)s” is not supported.") % {"type": base_type},
        )
    raw["correct_key"] = ""
    raw["options"] = []


def _metadata(raw: dict, item) -> None:
    """DreamSeed's own metadata (see QTI_METADATA, written by our QTI export): the exact id,
    IRT parameters, status, classification, and the answer object with its scoring rules."""
    if item is None:
        return
    if item.get("external-id"):
        raw["external_id"] = item.get("external-id")
    answer = item.find(f"{{{DREAMSEED_NS}}}answer")
    if answer is not None and (answer.text or "").strip():
        try:
            given = json.loads(answer.text)
        except ValueError:
            given = None
        if isinstance(given, dict):
            raw["answer"] = given
    irt = item.find(f"{{{DREAMSEED_NS}}}irt")
    for name in ("subject", "grade", "content-area"):
        value = item.get(name)
        if value:
            raw[name.replace("-", "_")] = value
    standards = [(s.text or "").strip() for s in item.iter(f"{{{DREAMSEED_NS}}}standard")]
    if any(standards):
        raw["standards"] = [s for s in standards if s]
    units = item.find(f"{{{DREAMSEED_NS}}}units")
    if units is not None and raw.get("kind") == "numeric":
        raw["answer"]["units"] = [
            (u.text or "").strip() for u in units.iter(f"{{{DREAMSEED_NS}}}unit") if u.text
        ]
        raw["answer"]["unit_required"] = (units.get("required") or "").lower() in ("yes", "true")
    if irt is None:
        return  # without parameters the difficulty is unknown: the item stays a draft
    if item.get("status"):
        raw["status"] = item.get("status")
    for name in ("model", "a", "b", "c", "d", "se-a", "se-b", "se-c"):
        value = irt.get(name)
        if value not in (None, ""):
            raw[name.replace("-", "_")] = value
    if (irt.get("steps") or "").strip():  # GPCM / GRM category steps
        raw["steps"] = irt.get("steps").split()


def _stimulus(reference, context: _Context) -> str:
    """A shared stimulus (QTI 3 qti-assessment-stimulus-ref): its body, shown before the item."""
    href = _attr(reference, "href") or ""
    where = context.document.where(reference)
    path = package_path(context.document.name, href)
    if path is None or path not in context.package.entries:
        raise _Problem(
            where, _("the shared stimulus “%(href)s” is not in the package.") % {"href": href[:200]}
        )
    if path not in context.package.stimuli:
        document = _xml_parse(path, context.package.read(path))
        body = next((e for e in document.root.iter() if _local(e) == "stimulusBody"), None)
        if body is None:
            raise _Problem(document.where(document.root), _("the stimulus has no body."))
        assets: dict = {}
        html = _paragraph(body, _Context(context.package, document, assets), False).strip()
        context.package.stimuli[path] = (html, assets)
    html, assets = context.package.stimuli[path]
    context.assets.update(assets)
    return html


def _item_read(document: _Document, context: _Context, manifest_metadata: list) -> QtiItem:
    root = document.root
    if _local(root) != "assessmentItem":
        raise _Problem(document.where(root), _("this is not an assessment item."))
    identifier = (_attr(root, "identifier") or "").strip()
    if not identifier:
        raise _problem(context, root, _("the item has no identifier."))
    body = _first(root, "itemBody")
    if body is None:
        raise _problem(context, root, _("the item has no itemBody."))
    interactions = [e for e in body.iter() if INTERACTION.match(_local(e))]
    if not interactions:
        raise _problem(context, body, _("the item has no interaction to answer."))
    unsupported = [e for e in interactions if _local(e) not in SUPPORTED]
    if unsupported:
        raise _problem(
            context,
            unsupported[0],
            _(
                "this interaction is not supported; the supported ones are choice, inline "
                "choice, text entry, order and extended text."
            ),
        )
    if len(interactions) > 1:
        raise _problem(
            context,
            interactions[1],
            _("an item may have only one interaction (this one is the second)."),
        )
    interaction = interactions[0]
    context.interaction = interaction
    response = _attr(interaction, "responseIdentifier") or ""
    declaration = next(
        (d for d in _children(root, "responseDeclaration") if _attr(d, "identifier") == response),
        None,
    )
    name = _local(interaction)
    if declaration is None and name != "extendedTextInteraction":
        raise _problem(
            context,
            interaction,
            _("no responseDeclaration has the identifier “%(id)s”.") % {"id": response[:60]},
        )
    # No status: a new item is a draft (its difficulty is unknown) and an existing one keeps its
    # own, unless the package carries our metadata.
    raw: dict = {"external_id": external_id_from(identifier)}
    tag = f"{{{DREAMSEED_NS}}}item"
    found = [e for e in manifest_metadata if e.tag == tag] or [e for e in root.iter(tag)]
    metadata = found[0] if found else None
    kind_hint = (metadata.get("kind") or "") if metadata is not None else ""
    if name in ("choiceInteraction", "inlineChoiceInteraction"):  # an inline one: a single choice
        _choice_answer(raw, interaction, declaration, context, kind_hint)
    elif name == "orderInteraction":
        _order_answer(raw, interaction, declaration, context)
    elif name == "textEntryInteraction":
        _entry_answer(raw, interaction, declaration, context)
    else:
        raw.update(kind="extended", correct_key="", options=[], answer={})
    passages = [_stimulus(ref, context) for ref in _children(root, "assessmentStimulusRef")]
    raw["stem"] = "".join(passages) + _paragraph(body, context, False).strip()
    _metadata(raw, metadata)
    return QtiItem(document.name, "", raw, title=(_attr(root, "title") or "").strip())


# --- The package -----------------------------------------------------------------------------


def _resource_where(identifier: str) -> str:
    return _("%(file)s, resource '%(id)s'") % {"file": MANIFEST, "id": identifier[:60]}


def qti_package_read(data: bytes) -> QtiPackage:
    """Read a QTI package: its items as raw dicts, problems (each naming its place), images.

    Raises QtiPackageError if the package cannot be read at all.
    """
    package = _Zip(data)
    manifest_name = MANIFEST if MANIFEST in package.entries else None
    if manifest_name is None:
        raise QtiPackageError(
            _("The package has no imsmanifest.xml at its top level; is this a QTI package?")
        )
    try:
        manifest = _xml_parse(MANIFEST, package.read(MANIFEST))
    except _Problem as problem:
        raise QtiPackageError(str(problem)) from problem
    result = QtiPackage()
    resources = [e for e in manifest.root.iter() if _local(e) == "resource"]
    seen_files: set[str] = set()
    versions: set[str] = set()
    for resource in resources:
        identifier = (resource.get("identifier") or "").strip()
        kind = (resource.get("type") or "").strip()
        match = ITEM_TYPE.match(kind)
        if not match:
            continue
        where = _resource_where(identifier)
        if match.group(1) == "1":
            result.problems.append(
                QtiProblem(
                    where, _("QTI 1.x items are not supported; export them as QTI 2.1 or 3.0.")
                )
            )
            continue
        href = resource.get("href")
        if not href:
            first_file = _first(resource, "file")
            href = first_file.get("href") if first_file is not None else None
        if not href:
            result.problems.append(QtiProblem(where, _("it names no file.")))
            continue
        path = package_path(MANIFEST, href)
        if path is None:
            result.problems.append(
                QtiProblem(
                    where,
                    _(
                        "the file “%(href)s” is outside the package; "
                        "nothing is fetched from elsewhere."
                    )
                    % {"href": href[:200]},
                )
            )
            continue
        if path not in package.entries:
            result.problems.append(
                QtiProblem(where, _("the file “%(path)s” is not in the package.") % {"path": path})
            )
            continue
        if path in seen_files:
            continue
        seen_files.add(path)
        metadata_block = _first(resource, "metadata")
        metadata = (
            [e for e in metadata_block.iter() if _namespace(e) == DREAMSEED_NS]
            if metadata_block is not None
            else []
        )
        try:
            document = _xml_parse(path, package.read(path))
            namespace = _namespace(document.root)
            if namespace == QTI3_NAMESPACE:
                versions.add("3.0")
            elif namespace in QTI2_NAMESPACES:
                versions.add(QTI2_NAMESPACES[namespace])
            else:
                raise _Problem(
                    path,
                    _("the root element is not in a QTI 2.x or 3.0 namespace (%(ns)s).")
                    % {"ns": namespace or _("none")},
                )
            assets: dict = {}
            context = _Context(package, document, assets)
            item = _item_read(document, context, metadata)
        except _Problem as problem:
            result.problems.append(problem.problem)
            continue
        item.resource = identifier
        result.items.append(item)
        result.assets.update(assets)
    if not result.items and not result.problems:
        raise QtiPackageError(
            _("The manifest lists no QTI items (resources of type imsqti_item_xmlv2p1 or v3p0).")
        )
    result.version = " + ".join(sorted(versions))
    return result
