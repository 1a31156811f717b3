"""Read Moodle XML question files (https://docs.moodle.org/en/Moodle_XML_format) into raw items.

Types: multichoice (single -> `single`, multiple answers -> `multiple`), truefalse, numerical
(-> `numeric`), shortanswer (-> `text`), essay (-> `extended`); `category` pseudo-questions set
the content area of the questions after them. Any other type is a problem naming it, and one
problem refuses the whole file. Images come from the <file> elements Moodle embeds (base64) and
are referenced as `@@PLUGINFILE@@/name`.

Parsing is defused: a DOCTYPE (and so any entity: XXE, billion laughs) is refused, as are more
elements or deeper nesting than a question file needs. Questions are handled one at a time as
the parser reaches their end, so memory stays small for large files.
"""

import math
import re
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.utils.translation import gettext as _

from dreamseed.itembank.formats.moodle import (
    DREAMSEED_TAG_PREFIX,
    HTML,
    MARKDOWN,
    MOODLE_AUTO,
    PLAIN,
    ForeignFile,
    ForeignFileError,
    ForeignQuestion,
    NameIds,
    category_content_area,
    file_bytes,
    images_rewrite,
    option_html,
    raw_item,
    text_html,
)

MAX_ELEMENTS = 1_500_000
MAX_DEPTH = 40
OPTION_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_OPTION_KEY = re.compile(r"^[A-Z0-9]{1,4}$")
FULL_MARK = 100.0
_FORMATS = {
    "html": HTML,
    "moodle_auto_format": MOODLE_AUTO,
    "plain_text": PLAIN,
    "markdown": MARKDOWN,
    "wiki_like": MOODLE_AUTO,
}
SUPPORTED = ("multichoice", "truefalse", "numerical", "shortanswer", "essay", "ordering")
_TYPE_NAMES = {
    "matching": "matching",
    "match": "matching",
    "cloze": "embedded answers (cloze)",
    "multianswer": "embedded answers (cloze)",
    "calculated": "calculated",
    "calculatedsimple": "simple calculated",
    "calculatedmulti": "calculated multichoice",
    "ddwtos": "drag and drop into text",
    "ddimageortext": "drag and drop onto image",
    "ddmarker": "drag and drop markers",
    "gapselect": "select missing words",
    "randomsamatch": "random short-answer matching",
    "description": "description (text without a question)",
    "random": "random",
}


class _Stop(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _QuestionBuilder(TreeBuilder):
    """An ElementTree builder that notes each element's line and hands every finished child of
    <quiz> to `on_question`, then forgets it."""

    def __init__(self, on_question):
        super().__init__()
        self.on_question = on_question
        self.parser = None
        self.lines: dict[Element, int] = {}
        self.depth = 0
        self.count = 0
        self.root: Element | None = None

    def start(self, tag, attrs):
        self.depth += 1
        self.count += 1
        if self.depth > MAX_DEPTH:
            raise _Stop(
                _("The XML is nested more than %(depth)s levels deep; a question file never is.")
                % {"depth": MAX_DEPTH}
            )
        if self.count > MAX_ELEMENTS:
            raise _Stop(
                _("The XML has more than %(count)s elements: split it into smaller files.")
                % {"count": f"{MAX_ELEMENTS:,}"}
            )
        element = super().start(tag, attrs)
        if self.depth == 1:
            self.root = element
            if tag != "quiz":
                raise _Stop(
                    _(
                        "This is not a Moodle XML question file: it starts with <%(tag)s>, "
                        "not <quiz>."
                    )
                    % {"tag": tag[:40]}
                )
        else:
            self.lines[element] = self.parser.parser.CurrentLineNumber
        return element

    def end(self, tag):
        element = super().end(tag)
        self.depth -= 1
        if self.depth == 1:
            self.on_question(element, self.lines)
            self.root.remove(element)
            self.lines.clear()
        return element


def _text(element: Element | None, default: str = "") -> str:
    """The <text> child of a Moodle field (or the element's own text in old files)."""
    if element is None:
        return default
    text = element.find("text")
    if text is not None:
        return (text.text or "").strip()
    return (element.text or "").strip()


def _files(element: Element | None) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = {}
    if element is None:
        return files
    for node in element.findall("file"):
        path = (node.get("path") or "/").strip("/")
        name = (node.get("name") or "").strip()
        if name:
            files[f"{path}/{name}" if path else name] = file_bytes(node.text or "")
    return files


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except (TypeError, ValueError, AttributeError):
        return None
    return value if math.isfinite(value) else None


class _Reader:
    def __init__(self):
        self.found = ForeignFile()
        self.content_area: str | None = None  # until a category says
        self.number = 0
        self.ids = NameIds()
        self.pending: list[tuple[ForeignQuestion, str]] = []  # (question, name) awaiting an id
        self.lines: dict[Element, int] = {}
        self.rubric = False  # the question's tags say it is marked with a rubric
        self.tags: list[str] = []

    # --- Each child of <quiz> --------------------------------------------------------------

    def question(self, element: Element, lines: dict) -> None:
        line = lines.get(element)
        if element.tag != "question":
            return  # Moodle ignores anything else inside <quiz> too
        qtype = (element.get("type") or "").strip()
        if qtype == "category":
            self.content_area = category_content_area(_text(element.find("category")))
            return
        self.number += 1
        if qtype not in SUPPORTED:
            label = _TYPE_NAMES.get(qtype, qtype or _("(no type)"))
            self.found.add(
                line,
                self.number,
                _(
                    "Moodle question type “%(type)s” cannot be imported. The types DreamSeed "
                    "reads are multiple choice, true/false, numerical, short answer, essay and "
                    "ordering; remove this question or change its type in Moodle."
                )
                % {"type": label[:60]},
            )
            return
        tags = [_text(tag) for tag in element.findall("tags/tag")]
        self.rubric = f"{DREAMSEED_TAG_PREFIX}scoring=rubric" in tags
        self.tags = tags
        read = getattr(self, f"read_{qtype}")
        fields = read(element, line)
        if fields is None:
            return
        name = _text(element.find("name"))
        idnumber = (element.findtext("idnumber") or "").strip()
        raw = raw_item(
            external_id=idnumber,
            content_area=self.content_area,
            stem=self.stem(element, line),
            tags=tags,
            **fields,
        )
        question = ForeignQuestion(line, self.number, raw)
        self.found.questions.append(question)
        if idnumber:
            self.ids.reserve(idnumber)
        else:
            self.pending.append((question, name))

    def finish(self) -> ForeignFile:
        # Names become ids after every idnumber is known, so a name never takes an idnumber.
        for question, name in self.pending:
            question.raw["external_id"] = self.ids.from_name(name)
        return self.found

    # --- Parts ----------------------------------------------------------------------------

    def html(self, element: Element | None, line, column, *, default_format="html") -> str:
        if element is None:
            return ""
        text_format = _FORMATS.get((element.get("format") or default_format).strip(), HTML)
        text = text_html(_text(element), text_format)
        files = _files(element)
        broken = [name for name, data in files.items() if data is None]
        for name in broken:
            self.found.add(
                line,
                self.number,
                _("The embedded file “%(name)s” is not valid base64.") % {"name": name[:80]},
                column,
            )
        usable = {name: data for name, data in files.items() if data is not None}
        return images_rewrite(text, usable, self.found, line, self.number, column)

    def stem(self, element: Element, line) -> str:
        stem = self.html(element.find("questiontext"), line, "stem")
        # Moodle 1.x files kept one image beside the text.
        image, data = element.findtext("image"), element.findtext("image_base64")
        if image and data:
            name = image.strip().replace("/", "_")
            files = {name: file_bytes(data)} if file_bytes(data) is not None else {}
            stem += " " + images_rewrite(
                f'<img src="@@PLUGINFILE@@/{name}" alt="{name}">',
                files,
                self.found,
                line,
                self.number,
                "stem",
            )
        return stem

    def answers(self, element: Element) -> list[tuple[Element, float | None]]:
        answers = []
        for answer in element.findall("answer"):
            fraction = _number(answer.get("fraction", "0"))
            if answer.find("fraction") is not None:  # Moodle 1.x wrote it as an element
                fraction = _number(answer.findtext("fraction") or "")
                fraction = None if fraction is None else fraction * 100
            answers.append((answer, fraction))
        return answers

    def bad_fraction(self, answer: Element, line) -> None:
        self.found.add(
            line,
            self.number,
            _("An answer's fraction “%(value)s” is not a number.")
            % {"value": (answer.get("fraction") or "")[:20]},
            "answer",
        )

    # --- Question types -------------------------------------------------------------------

    def read_multichoice(self, element: Element, line) -> dict | None:
        single = (element.findtext("single") or "true").strip().lower() not in ("false", "0", "")
        questiontext = element.find("questiontext")
        text_format = (questiontext.get("format") if questiontext is not None else "") or "html"
        options, fractions = [], []
        for index, (answer, fraction) in enumerate(self.answers(element)):
            answer_line = self.line_of(answer, line)
            if fraction is None:
                self.bad_fraction(answer, answer_line)
                return None
            key = OPTION_KEYS[index] if index < len(OPTION_KEYS) else str(index + 1)
            text = self.html(answer, answer_line, "options", default_format=text_format)
            options.append({"key": key, "text": option_html(text)})
            fractions.append(fraction)
        if single:
            right = [
                opt["key"] for opt, f in zip(options, fractions, strict=True) if f >= FULL_MARK
            ]
            if len(right) != 1:
                self.found.add(
                    line,
                    self.number,
                    _(
                        "A one-answer multiple choice question needs exactly one answer worth "
                        "100%% (this has %(count)s). Partial credit is not kept: each item is "
                        "scored right or wrong."
                    )
                    % {"count": len(right)},
                    "answer",
                )
                return None
            return {"kind": "single", "options": options, "correct_key": right[0]}
        right = [opt["key"] for opt, f in zip(options, fractions, strict=True) if f > 0]
        if not right:
            self.found.add(
                line,
                self.number,
                _("A multiple-answer question needs at least one answer worth more than 0%."),
                "answer",
            )
            return None
        return {"kind": "multiple", "options": options, "answer": {"keys": right}}

    def read_truefalse(self, element: Element, line) -> dict | None:
        correct = None
        for index, (answer, fraction) in enumerate(self.answers(element)):
            if fraction is None:
                self.bad_fraction(answer, self.line_of(answer, line))
                return None
            text = _text(answer).lower()
            if text not in ("true", "false"):  # old files: true first, then false
                text = "true" if index == 0 else "false"
            if fraction >= FULL_MARK:
                correct = "T" if text == "true" else "F"
        if correct is None:
            self.found.add(
                line,
                self.number,
                _("A true/false question needs its right answer (true or false) worth 100%."),
                "answer",
            )
            return None
        return {"kind": "truefalse", "correct_key": correct}

    def read_numerical(self, element: Element, line) -> dict | None:
        right = []
        for answer, fraction in self.answers(element):
            if fraction is None:
                self.bad_fraction(answer, self.line_of(answer, line))
                return None
            if fraction >= FULL_MARK:
                right.append(answer)
        if len(right) != 1:
            self.found.add(
                line,
                self.number,
                _(
                    "A numerical question needs exactly one answer worth 100%% (this has "
                    "%(count)s); answers worth less are not kept."
                )
                % {"count": len(right)},
                "answer",
            )
            return None
        answer = right[0]
        answer_line = self.line_of(answer, line)
        value_text = _text(answer)
        value = _number(value_text)
        tolerance = _number(answer.findtext("tolerance") or "0")
        if value is None:
            self.found.add(
                answer_line,
                self.number,
                _("The answer “%(value)s” is not a number.") % {"value": value_text[:30]},
                "answer",
            )
            return None
        if tolerance is None or tolerance < 0:
            self.found.add(
                answer_line,
                self.number,
                _("The tolerance “%(value)s” is not a number of at least 0.")
                % {"value": (answer.findtext("tolerance") or "")[:30]},
                "answer",
            )
            return None
        units = []
        for unit in element.findall("units/unit"):
            name = (unit.findtext("unit_name") or "").strip()
            multiplier = _number(unit.findtext("multiplier") or "1")
            if not name:
                continue
            if multiplier != 1:
                self.found.add(
                    self.line_of(unit, line),
                    self.number,
                    _(
                        "The unit “%(unit)s” converts with a multiplier of %(multiplier)s; "
                        "DreamSeed accepts units only as other names for the answer's own unit "
                        "(multiplier 1). Remove that unit or make it a separate question."
                    )
                    % {"unit": name[:20], "multiplier": (unit.findtext("multiplier") or "")[:20]},
                    "answer",
                )
                return None
            units.append(name)
        grading = (element.findtext("unitgradingtype") or "0").strip()
        shown = (element.findtext("showunits") or "").strip()
        unit_required = bool(units) and grading not in ("0", "") and shown != "3"
        return {
            "kind": "numeric",
            "answer": {
                "value": value,
                "tolerance": tolerance,
                "units": units,
                "unit_required": unit_required,
            },
        }

    def read_shortanswer(self, element: Element, line) -> dict | None:
        accepted = []
        for answer, fraction in self.answers(element):
            if fraction is None:
                self.bad_fraction(answer, self.line_of(answer, line))
                return None
            text = _text(answer)
            if fraction >= FULL_MARK and text and text not in accepted:
                accepted.append(text)
        if not accepted and not self.rubric:  # a rubric item is marked by the teacher
            self.found.add(
                line,
                self.number,
                _("A short-answer question needs at least one answer worth 100%."),
                "answer",
            )
            return None
        case_sensitive = (element.findtext("usecase") or "0").strip() not in ("0", "", "false")
        return {
            "kind": "text",
            "answer": {"accepted": accepted, "case_sensitive": case_sensitive},
        }

    def read_essay(self, element: Element, line) -> dict:
        return {"kind": "extended"}

    def read_ordering(self, element: Element, line) -> dict | None:
        """qtype_ordering (core since Moodle 4.4): the answers in their right order, each
        `fraction` its position. Partial-credit grading types are scored all or nothing here."""
        questiontext = element.find("questiontext")
        text_format = (questiontext.get("format") if questiontext is not None else "") or "html"
        options, positions = [], []
        for index, (answer, position) in enumerate(self.answers(element)):
            answer_line = self.line_of(answer, line)
            if position is None:
                self.bad_fraction(answer, answer_line)
                return None
            key = OPTION_KEYS[index] if index < len(OPTION_KEYS) else str(index + 1)
            text = self.html(answer, answer_line, "options", default_format=text_format)
            options.append({"key": key, "text": option_html(text)})
            positions.append(position)
        ranked = [
            option
            for _position, _index, option in sorted(
                zip(positions, range(len(options)), options, strict=True)
            )
        ]
        keys = self.order_keys(len(ranked))
        if keys:  # our export: the options get their keys back, listed in key order
            for option, key in zip(ranked, keys, strict=True):
                option["key"] = key
            options = sorted(ranked, key=lambda option: option["key"])
            return {"kind": "ordering", "options": options, "answer": {"order": keys}}
        order = [option["key"] for option in ranked]
        return {"kind": "ordering", "options": options, "answer": {"order": order}}

    def order_keys(self, count: int) -> list[str] | None:
        """The option keys a DreamSeed export put in `dreamseed:order=B,A,C`, when they fit."""
        prefix = f"{DREAMSEED_TAG_PREFIX}order="
        for tag in self.tags:
            if tag.startswith(prefix):
                keys = [key.strip() for key in tag[len(prefix) :].split(",")]
                valid = all(_OPTION_KEY.match(key) for key in keys)
                if valid and len(keys) == count and len(set(keys)) == count:
                    return keys
        return None

    def line_of(self, element: Element, default):
        return self.lines.get(element, default)


def read(text: str) -> ForeignFile:
    """Read a Moodle XML file; raises ForeignFileError if it is not one or cannot be parsed."""
    reader = _Reader()

    def on_question(element, lines):
        reader.lines = lines
        reader.question(element, lines)

    builder = _QuestionBuilder(on_question)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.parser = parser
    try:
        parser.feed(text)
        parser.close()
    except _Stop as stop:
        raise ForeignFileError(stop.message) from None
    except DefusedXmlException as error:
        raise ForeignFileError(
            _(
                "The XML declares a document type or entities (%(what)s). Moodle question "
                "files never need them and they can be used to attack a server, so the file "
                "is refused: export it again from Moodle."
            )
            % {"what": type(error).__name__}
        ) from None
    except ParseError as error:
        row, column = error.position
        raise ForeignFileError(
            _("The XML cannot be read: %(error)s (line %(line)s, column %(column)s).")
            % {"error": str(error).split(":")[0], "line": row, "column": column + 1}
        ) from None
    found = reader.finish()
    if not found.questions and not found.problems:
        raise ForeignFileError(_("The file has no questions."))
    return found


def looks_like_moodle_xml(text: str) -> bool:
    """A cheap sniff for a .xml upload: the first element is <quiz>."""
    head = text.lstrip("\ufeff \t\r\n")[:2000]
    position = 0
    while True:
        position = head.find("<", position)
        if position < 0:
            return False
        if head.startswith(("<?", "<!--"), position):
            end = head.find("?>" if head.startswith("<?", position) else "-->", position)
            if end < 0:
                return False
            position = end
            continue
        return head.startswith("<quiz", position) and head[position + 5 : position + 6] in (
            ">", " ", "\n", "\r", "\t", "/",
        )  # fmt: skip
