"""The item bank as Moodle XML: a <quiz> that Moodle's question import (qformat_xml) reads into
its question bank, written the way Moodle's own export writes it.

Content areas become question categories (`$course$/top/<area>`), the external id becomes the
question's `idnumber` (and name), images travel inside the file as base64 `<file>` elements
referenced by `@@PLUGINFILE@@/<name>`, and our IRT parameters and other fields ride in question
tags (`dreamseed:a=1.2`, ...), one per field because Moodle cuts a tag at 50 characters. The
mapping of each item kind to a Moodle question type is in IMPORT_FORMAT.md.

The file is produced question by question (`export_moodle_xml` yields text), so a large bank
streams without being held in memory.
"""

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from dreamseed.itembank.formats.export_html import (
    image_load,
    number_text,
    replace_image_sources,
    xml_text,
)
from dreamseed.itembank.kinds import SCORING_PARTIAL, ItemKind, max_score

PLUGINFILE = "@@PLUGINFILE@@/"
CATEGORY_ROOT = "$course$/top"
TAG_PREFIX = "dreamseed:"
#: Moodle question types by item kind (ordering: core qtype_ordering since Moodle 4.4, a plugin
#: before; it reads the same XML).
QTYPES = {
    ItemKind.SINGLE: "multichoice",
    ItemKind.MULTIPLE: "multichoice",
    ItemKind.TRUE_FALSE: "truefalse",
    ItemKind.NUMERIC: "numerical",
    ItemKind.TEXT: "shortanswer",
    ItemKind.EXTENDED: "essay",
    ItemKind.ORDERING: "ordering",
}
# Moodle's defaults for a new question of each type (penalty: the share lost per wrong try in
# interactive mode).
PENALTY = {"truefalse": "1", "essay": "0"}
DEFAULT_PENALTY = "0.3333333"
# qtype_numerical: units typed in a box; 0 = units optional, 1 = a wrong unit costs unitpenalty.
SHOW_UNITS_INPUT, SHOW_UNITS_NONE = "0", "3"


def category_path(content_area: str) -> str:
    """The Moodle category of a content area ("/" in a name is written "//", as Moodle does)."""
    area = xml_text(content_area).strip()
    return f"{CATEGORY_ROOT}/{area.replace('/', '//')}" if area else CATEGORY_ROOT


def fraction_text(value: float) -> str:
    """A Moodle answer fraction in percent, as Moodle writes it (33.33333, 50, -100)."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def item_tags(row: dict) -> list[str]:
    tags = [f"{TAG_PREFIX}status={row['status']}", f"{TAG_PREFIX}model={row['model']}"]
    for name in ("a", "b", "c", "d", "se_a", "se_b", "se_c"):
        if row[name] is not None:
            tags.append(f"{TAG_PREFIX}{name}={number_text(row[name])}")
    for name in ("subject", "grade"):
        if row[name]:
            tags.append(f"{TAG_PREFIX}{name}={xml_text(row[name])}")
    tags.extend(f"{TAG_PREFIX}standard={xml_text(standard)}" for standard in row["standards"])
    # GPCM / GRM category steps, one tag each in order (a list would pass 50 characters).
    tags.extend(f"{TAG_PREFIX}step={number_text(step)}" for step in row.get("steps") or [])
    # Partial credit rules, which Moodle's own marking only approximates (see IMPORT_FORMAT.md).
    answer = row["answer"]
    if answer.get("scoring"):
        tags.append(f"{TAG_PREFIX}scoring={answer['scoring']}")
    if answer.get("partial_tolerance") is not None:
        tags.append(f"{TAG_PREFIX}partial_tolerance={number_text(answer['partial_tolerance'])}")
    if answer.get("max_points"):
        tags.append(f"{TAG_PREFIX}max_points={int(answer['max_points'])}")
    if row["kind"] == ItemKind.ORDERING and answer.get("order"):
        # Moodle keeps only the right order of the answers; their keys let ours come back as
        # they were (options in key order, this order right).
        tags.append(f"{TAG_PREFIX}order={','.join(answer['order'])}")
    return tags


class _Files:
    """The images of one question: each src found becomes @@PLUGINFILE@@/<name>, and the
    bytes are written as <file> next to the text that uses them (Moodle keeps files per
    question text and per answer)."""

    def __init__(self, external_id: str, notes: list[str]):
        self.external_id = external_id
        self.notes = notes

    def text(self, parent: ET.Element, html: str) -> None:
        found: dict[str, bytes] = {}

        def replace(src: str) -> str:
            image = image_load(src)
            if image is None:
                self.notes.append(
                    _("%(id)s: the image %(src)s was not found; its reference is kept as it was.")
                    % {"id": self.external_id, "src": src[:80]}
                )
                return src
            found[image.name] = image.data
            return PLUGINFILE + image.name

        ET.SubElement(parent, "text").text = xml_text(replace_image_sources(html, replace))
        for name, data in found.items():
            ET.SubElement(
                parent, "file", {"name": name, "path": "/", "encoding": "base64"}
            ).text = base64.b64encode(data).decode("ascii")


def _text_element(parent: ET.Element, name: str, text: str = "", fmt: str = "html"):
    element = ET.SubElement(parent, name, {"format": fmt})
    ET.SubElement(element, "text").text = xml_text(text)
    return element


def _answer(parent, fraction: str, text: str, *, fmt="moodle_auto_format", files=None):
    answer = ET.SubElement(parent, "answer", {"fraction": fraction, "format": fmt})
    if files is not None:
        files.text(answer, text)
    else:
        ET.SubElement(answer, "text").text = xml_text(text)
    _text_element(answer, "feedback")
    return answer


def _combined_feedback(question: ET.Element) -> None:
    for name in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
        _text_element(question, name)


def _choices(question: ET.Element, row: dict, files: _Files) -> None:
    multiple = row["kind"] == ItemKind.MULTIPLE
    ET.SubElement(question, "single").text = "false" if multiple else "true"
    ET.SubElement(question, "shuffleanswers").text = "false"
    ET.SubElement(question, "answernumbering").text = "ABCD"
    ET.SubElement(question, "showstandardinstruction").text = "0"
    _combined_feedback(question)
    if multiple:
        ET.SubElement(question, "shownumcorrect")
    keys = set(row["answer"].get("keys", [])) if multiple else {row["correct_key"]}
    if not multiple:
        right, wrong = "100", "0"
    elif row["answer"].get("scoring") == SCORING_PARTIAL:
        # Our partial credit exactly: (right chosen - wrong chosen) / keys, never below 0.
        right, wrong = fraction_text(100 / len(keys)), fraction_text(-100 / len(keys))
    else:
        # Moodle cannot mark "exactly these" all or nothing: each right option earns its share
        # and any wrong one takes the whole mark away (Moodle never gives less than 0).
        right, wrong = fraction_text(100 / len(keys)), "-100"
    for option in row["options"]:
        fraction = right if option["key"] in keys else wrong
        _answer(question, fraction, option["text"], fmt="html", files=files)


def _true_false(question: ET.Element, row: dict) -> None:
    true = row["correct_key"] == "T"
    _answer(question, "100" if true else "0", "true")
    _answer(question, "0" if true else "100", "false")


def _numerical(question: ET.Element, row: dict) -> None:
    answer = row["answer"]
    element = _answer(question, "100", number_text(answer["value"]))
    ET.SubElement(element, "tolerance").text = number_text(answer.get("tolerance") or 0.0)
    if answer.get("partial_tolerance") is not None:
        # Partial credit: half the mark (our 1 point of 2) within the wider tolerance.
        element = _answer(question, "50", number_text(answer["value"]))
        ET.SubElement(element, "tolerance").text = number_text(answer["partial_tolerance"])
    units = answer.get("units") or []
    if units:
        holder = ET.SubElement(question, "units")
        for unit in units:
            entry = ET.SubElement(holder, "unit")
            ET.SubElement(entry, "multiplier").text = "1"
            ET.SubElement(entry, "unit_name").text = xml_text(unit)
    required = bool(units) and bool(answer.get("unit_required"))
    ET.SubElement(question, "unitgradingtype").text = "1" if required else "0"
    ET.SubElement(question, "unitpenalty").text = "1" if required else "0.1"
    ET.SubElement(question, "showunits").text = SHOW_UNITS_INPUT if units else SHOW_UNITS_NONE
    ET.SubElement(question, "unitsleft").text = "0"


def _short_answer(question: ET.Element, row: dict) -> None:
    answer = row["answer"]
    ET.SubElement(question, "usecase").text = "1" if answer.get("case_sensitive") else "0"
    for accepted in answer.get("accepted", []):
        _answer(question, "100", accepted)


def _essay(question: ET.Element) -> None:
    for name, value in (
        ("responseformat", "editor"),
        ("responserequired", "1"),
        ("responsefieldlines", "10"),
        ("attachments", "0"),
        ("attachmentsrequired", "0"),
    ):
        ET.SubElement(question, name).text = value
    _text_element(question, "graderinfo")
    _text_element(question, "responsetemplate")


def _ordering(question: ET.Element, row: dict, files: _Files) -> None:
    for name, value in (
        ("layouttype", "VERTICAL"),
        ("selecttype", "ALL"),
        ("selectcount", str(len(row["options"]))),
        ("gradingtype", "ALL_OR_NOTHING"),
        ("showgrading", "SHOW"),
        ("numberingstyle", "none"),
    ):
        ET.SubElement(question, name).text = value
    _combined_feedback(question)
    texts = {option["key"]: option["text"] for option in row["options"]}
    # The answers in the right order; Moodle shuffles them for the student.
    for position, key in enumerate(row["answer"].get("order", []), start=1):
        _answer(question, str(position), texts.get(key, ""), fmt="html", files=files)


def question_element(row: dict, notes: list[str]) -> ET.Element:
    """One item as a Moodle <question>."""
    qtype = QTYPES[row["kind"]]
    files = _Files(row["external_id"], notes)
    question = ET.Element("question", {"type": qtype})
    name = ET.SubElement(question, "name")
    ET.SubElement(name, "text").text = xml_text(row["external_id"])
    files.text(ET.SubElement(question, "questiontext", {"format": "html"}), row["stem"])
    _text_element(question, "generalfeedback")
    # The item's largest score: 1 for right/wrong, more under partial credit or a rubric, and
    # 0 for an extended answer that is only read.
    ET.SubElement(question, "defaultgrade").text = str(max_score(row["kind"], row["answer"]))
    ET.SubElement(question, "penalty").text = PENALTY.get(qtype, DEFAULT_PENALTY)
    ET.SubElement(question, "hidden").text = "0"
    ET.SubElement(question, "idnumber").text = xml_text(row["external_id"])
    if qtype == "multichoice":
        _choices(question, row, files)
    elif qtype == "truefalse":
        _true_false(question, row)
    elif qtype == "numerical":
        _numerical(question, row)
    elif qtype == "shortanswer":
        _short_answer(question, row)
    elif qtype == "essay":
        _essay(question)
    else:
        _ordering(question, row, files)
    tags = ET.SubElement(question, "tags")
    for tag in item_tags(row):
        ET.SubElement(ET.SubElement(tags, "tag"), "text").text = tag
    return question


def category_element(content_area: str) -> ET.Element:
    question = ET.Element("question", {"type": "category"})
    ET.SubElement(ET.SubElement(question, "category"), "text").text = category_path(content_area)
    _text_element(question, "info")
    return question


def _xml(element: ET.Element) -> str:
    # <text></text> rather than <text />, as Moodle writes empty texts.
    return ET.tostring(element, encoding="unicode", short_empty_elements=False)


def _row(item) -> dict:
    from dreamseed.itembank.import_export import item_export_row

    return item if isinstance(item, dict) else item_export_row(item)


def export_moodle_xml(items: Iterable, notes: list[str] | None = None) -> Iterator[str]:
    """The Moodle XML file for `items` (Items or export rows), piece by piece. Anything a
    teacher should know (an image that could not be found) is added to `notes` and, at the
    end, written into the file as a comment."""
    notes = [] if notes is None else notes
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'
    area = None
    for item in items:
        row = _row(item)
        if row["content_area"] != area:
            area = row["content_area"]
            yield "  " + _xml(category_element(area)) + "\n"
        yield "  " + _xml(question_element(row, notes)) + "\n"
    if notes:
        comment = ET.Comment(" " + " ".join(notes).replace("--", "- -") + " ")
        yield "  " + ET.tostring(comment, encoding="unicode") + "\n"
    yield "</quiz>\n"
