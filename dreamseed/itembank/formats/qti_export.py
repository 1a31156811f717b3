"""The item bank as a QTI 3.0 content package: a zip with `imsmanifest.xml` (1EdTech content
packaging for QTI 3.0) and one `qti-assessment-item` file per item, with the images the items
show copied in. What we write, and where our IRT parameters go, is in IMPORT_FORMAT.md.

The package is written item by item into a zip on a spooled temporary file, and the manifest's
resources go to a second temporary file until the end, so a bank of 20,000 items never sits in
memory as one XML tree or one string.
"""

import json
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from django.utils.translation import gettext as _

from dreamseed.itembank.formats.export_html import (
    html_into,
    image_load,
    is_block_content,
    number_text,
    xml_text,
)
from dreamseed.itembank.kinds import (
    SCORING_PARTIAL,
    ItemKind,
    is_scored,
    max_score,
    teacher_marked,
    true_false_label,
)

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
QTI_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
CP_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
LOM_SCHEMA = "https://purl.imsglobal.org/spec/md/v1p3/schema/xsd/imsmd_loose_v1p3p2.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: Our own metadata (kind, status, IRT parameters, the exact answer) in a resource's <metadata>.
DS_NS = "https://dreamseed.org/xsd/qti-metadata/v1"
ITEM_RESOURCE_TYPE = "imsqti_item_xmlv3p0"
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"
MAP_RESPONSE = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/map_response.xml"
LOM_CATALOG = "dreamseed"
ITEMS_FOLDER = "items/"
IMAGES_FOLDER = "images/"  # inside ITEMS_FOLDER, so an item's src needs no ".."
NOTES_NAME = "export-notes.txt"
SPOOL_BYTES = 32 * 1024 * 1024
RESPONSE = "RESPONSE"
SCORE = "SCORE"
# QTI identifiers are XML NCNames; ours may start with a digit or contain ":".
_QTI_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _q(name: str) -> str:
    # Elements are in the default namespace declared on the root (ElementTree cannot write a
    # default namespace next to unprefixed attributes), so their names are used as they are.
    return name


@dataclass
class QtiExport:
    """What was written: counts, and anything a teacher should know about the package."""

    items: int = 0
    images: int = 0
    notes: list[str] = field(default_factory=list)


def qti_identifier(external_id: str, taken: set[str]) -> str:
    """A QTI identifier for the item, unique in the package even on a case-insensitive disk
    (it is also the item's file name)."""
    base = external_id if _QTI_IDENTIFIER.match(external_id) else "I-" + external_id
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base)
    identifier, counter = base, 1
    while identifier.lower() in taken:
        counter += 1
        identifier = f"{base}-{counter}"
    taken.add(identifier.lower())
    return identifier


def choice_identifier(key: str) -> str:
    """A choice's QTI identifier: its key (A, B, ...), or "C" + the key when the key is not a
    valid identifier on its own (keys may be digits: "1" becomes "C1")."""
    return key if _QTI_IDENTIFIER.match(key) else "C" + re.sub(r"[^A-Za-z0-9_.-]", "_", key)


# --- One item ----------------------------------------------------------------------------------


def _value(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, _q("qti-value")).text = xml_text(text)


def _response_declaration(root: ET.Element, row: dict) -> None:
    kind, answer = row["kind"], row["answer"]
    cardinality, base_type, correct = "single", "identifier", []
    if kind in (ItemKind.SINGLE, ItemKind.TRUE_FALSE):
        correct = [choice_identifier(row["correct_key"])]
    elif kind == ItemKind.MULTIPLE:
        cardinality = "multiple"
        correct = [choice_identifier(key) for key in answer.get("keys", [])]
    elif kind == ItemKind.ORDERING:
        cardinality = "ordered"
        correct = [choice_identifier(key) for key in answer.get("order", [])]
    elif kind == ItemKind.NUMERIC:
        base_type, correct = "float", [number_text(answer["value"])]
    elif kind == ItemKind.TEXT:
        base_type, correct = "string", list(answer.get("accepted", []))[:1]
    else:  # extended: free text, no correct response
        base_type = "string"
    declaration = ET.SubElement(
        root,
        _q("qti-response-declaration"),
        {"identifier": RESPONSE, "cardinality": cardinality, "base-type": base_type},
    )
    if correct:
        values = ET.SubElement(declaration, _q("qti-correct-response"))
        for value in correct:
            _value(values, value)
    if kind == ItemKind.TEXT and answer.get("accepted"):
        # Every accepted answer scores 1 (map_response, capped at 1): right or wrong.
        mapping = ET.SubElement(
            declaration,
            _q("qti-mapping"),
            {"default-value": "0", "lower-bound": "0", "upper-bound": "1"},
        )
        case = "true" if answer.get("case_sensitive") else "false"
        for accepted in answer.get("accepted", []):
            ET.SubElement(
                mapping,
                _q("qti-map-entry"),
                {"map-key": xml_text(accepted), "mapped-value": "1", "case-sensitive": case},
            )
    if kind == ItemKind.MULTIPLE and answer.get("scoring") == SCORING_PARTIAL:
        # Partial credit: right keys chosen minus wrong ones, never below 0.
        keys = set(answer.get("keys", []))
        mapping = ET.SubElement(
            declaration,
            _q("qti-mapping"),
            {"default-value": "0", "lower-bound": "0", "upper-bound": str(len(keys))},
        )
        for option in row["options"]:
            ET.SubElement(
                mapping,
                _q("qti-map-entry"),
                {
                    "map-key": choice_identifier(option["key"]),
                    "mapped-value": "1" if option["key"] in keys else "-1",
                },
            )


def _outcome_declaration(root: ET.Element, row: dict) -> None:
    kind, answer = row["kind"], row["answer"]
    attributes = {"identifier": SCORE, "cardinality": "single", "base-type": "float"}
    if teacher_marked(kind, answer):
        attributes["external-scored"] = "human"  # rubric points a teacher gives
        attributes["normal-maximum"] = str(max_score(kind, answer))
    elif not is_scored(kind, answer):
        attributes["external-scored"] = "human"  # read by a teacher, never marked
    else:
        attributes["normal-maximum"] = str(max_score(kind, answer))
    outcome = ET.SubElement(root, _q("qti-outcome-declaration"), attributes)
    default = ET.SubElement(outcome, _q("qti-default-value"))
    _value(default, "0")


def _stem(body: ET.Element, stem: str, image_src) -> None:
    holder = html_into(ET.Element(_q("div")), stem, qualify=_q, image_src=image_src)
    if is_block_content(holder, _q):
        body.extend(list(holder))
    else:  # loose text or inline markup: an item body holds blocks, so keep them in a div
        body.append(holder)


def _choices(interaction: ET.Element, options: list[dict], image_src) -> None:
    for option in options:
        choice = ET.SubElement(
            interaction, _q("qti-simple-choice"), {"identifier": choice_identifier(option["key"])}
        )
        html_into(choice, option["text"], qualify=_q, image_src=image_src)


def _interaction(body: ET.Element, row: dict, image_src) -> None:
    kind, options = row["kind"], row["options"]
    if kind in (ItemKind.SINGLE, ItemKind.MULTIPLE, ItemKind.TRUE_FALSE):
        interaction = ET.SubElement(
            body,
            _q("qti-choice-interaction"),
            {
                "response-identifier": RESPONSE,
                "shuffle": "false",
                "max-choices": "0" if kind == ItemKind.MULTIPLE else "1",
                "min-choices": "0",
            },
        )
        if kind == ItemKind.TRUE_FALSE:
            options = [{"key": key, "text": true_false_label(key)} for key in ("T", "F")]
        _choices(interaction, options, image_src)
    elif kind == ItemKind.ORDERING:
        interaction = ET.SubElement(
            body,
            _q("qti-order-interaction"),
            {"response-identifier": RESPONSE, "shuffle": "false", "orientation": "vertical"},
        )
        _choices(interaction, options, image_src)
    elif kind in (ItemKind.NUMERIC, ItemKind.TEXT):
        paragraph = ET.SubElement(body, _q("p"))
        attributes = {"response-identifier": RESPONSE}
        if kind == ItemKind.NUMERIC:
            attributes["expected-length"] = "10"
        ET.SubElement(paragraph, _q("qti-text-entry-interaction"), attributes)
    else:
        ET.SubElement(body, _q("qti-extended-text-interaction"), {"response-identifier": RESPONSE})


def _set_score(parent: ET.Element, value: str) -> None:
    setter = ET.SubElement(parent, _q("qti-set-outcome-value"), {"identifier": SCORE})
    ET.SubElement(setter, _q("qti-base-value"), {"base-type": "float"}).text = value


def _tolerance_branch(parent: ET.Element, tag: str, tolerance: float, score: str) -> ET.Element:
    """`tag` (qti-response-if / -else-if) scoring `score` when the response is within
    `tolerance` of the correct value."""
    branch = ET.SubElement(parent, _q(tag))
    text = number_text(tolerance)
    equal = ET.SubElement(
        branch, _q("qti-equal"), {"tolerance-mode": "absolute", "tolerance": f"{text} {text}"}
    )
    ET.SubElement(equal, _q("qti-variable"), {"identifier": RESPONSE})
    ET.SubElement(equal, _q("qti-correct"), {"identifier": RESPONSE})
    _set_score(branch, score)
    return branch


def _response_processing(root: ET.Element, row: dict) -> None:
    kind, answer = row["kind"], row["answer"]
    if not is_scored(kind, answer) or teacher_marked(kind, answer):
        return  # a teacher reads it (and gives rubric points, if any)
    if kind == ItemKind.TEXT or (
        kind == ItemKind.MULTIPLE and answer.get("scoring") == SCORING_PARTIAL
    ):
        ET.SubElement(root, _q("qti-response-processing"), {"template": MAP_RESPONSE})
        return
    if kind != ItemKind.NUMERIC:
        ET.SubElement(root, _q("qti-response-processing"), {"template": MATCH_CORRECT})
        return
    # Numeric entry: right within an absolute tolerance either side of the value; with partial
    # credit, 2 points there and 1 point within the wider partial tolerance.
    processing = ET.SubElement(root, _q("qti-response-processing"))
    condition = ET.SubElement(processing, _q("qti-response-condition"))
    tolerance = float(answer.get("tolerance") or 0.0)
    partial = answer.get("partial_tolerance")
    _tolerance_branch(condition, "qti-response-if", tolerance, "2" if partial is not None else "1")
    if partial is not None:
        _tolerance_branch(condition, "qti-response-else-if", float(partial), "1")
    _set_score(ET.SubElement(condition, _q("qti-response-else")), "0")


def item_document(row: dict, identifier: str, image_src: Callable[[str], str]) -> bytes:
    """One item as a `qti-assessment-item` document (UTF-8 bytes with the XML declaration)."""
    root = ET.Element(
        _q("qti-assessment-item"),
        {
            "xmlns": QTI_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{QTI_NS} {QTI_SCHEMA}",
            "identifier": identifier,
            "title": xml_text(row["external_id"]),
            "adaptive": "false",
            "time-dependent": "false",
        },
    )
    _response_declaration(root, row)
    _outcome_declaration(root, row)
    body = ET.SubElement(root, _q("qti-item-body"))
    _stem(body, row["stem"], image_src)
    _interaction(body, row, image_src)
    _response_processing(root, row)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- The manifest ------------------------------------------------------------------------------
# Resources are serialised one at a time with literal prefixes (declared once on <manifest>),
# so that each is a few hundred bytes of text instead of part of one large tree.


def _metadata_item(row: dict) -> ET.Element:
    item = ET.Element(
        "ds:item",
        {
            "external-id": xml_text(row["external_id"]),
            "kind": row["kind"],
            "status": row["status"],
            "subject": xml_text(row["subject"]),
            "grade": xml_text(row["grade"]),
            "content-area": xml_text(row["content_area"]),
        },
    )
    irt = {"model": row["model"]}
    for name in ("a", "b", "c", "d", "se_a", "se_b", "se_c"):
        if row[name] is not None:
            irt[name.replace("_", "-")] = number_text(row[name])
    if row.get("steps"):  # GPCM / GRM: the category steps, in order
        irt["steps"] = " ".join(number_text(step) for step in row["steps"])
    ET.SubElement(item, "ds:irt", irt)
    for standard in row["standards"]:
        ET.SubElement(item, "ds:standard").text = xml_text(standard)
    units = row["answer"].get("units") if row["kind"] == ItemKind.NUMERIC else None
    if units:
        required = "yes" if row["answer"].get("unit_required") else "no"
        holder = ET.SubElement(item, "ds:units", {"required": required})
        for unit in units:
            ET.SubElement(holder, "ds:unit").text = xml_text(unit)
    ET.SubElement(item, "ds:answer").text = xml_text(
        json.dumps(row["answer"] or {}, ensure_ascii=False, sort_keys=True)
    )
    return item


def _lom(row: dict) -> ET.Element:
    lom = ET.Element("imsmd:lom")
    general = ET.SubElement(lom, "imsmd:general")
    identifier = ET.SubElement(general, "imsmd:identifier")
    ET.SubElement(identifier, "imsmd:catalog").text = LOM_CATALOG
    ET.SubElement(identifier, "imsmd:entry").text = xml_text(row["external_id"])
    for standard in row["standards"]:
        keyword = ET.SubElement(general, "imsmd:keyword")
        ET.SubElement(keyword, "imsmd:string").text = xml_text(standard)
    return lom


def resource_fragment(row: dict, identifier: str, href: str, images: list[str]) -> str:
    """The item's <resource> in the manifest (prefixes as declared by `manifest_head`)."""
    resource = ET.Element(
        "resource", {"identifier": "RES-" + identifier, "type": ITEM_RESOURCE_TYPE, "href": href}
    )
    metadata = ET.SubElement(resource, "metadata")
    metadata.append(_lom(row))
    metadata.append(_metadata_item(row))
    ET.SubElement(resource, "file", {"href": href})
    for image in images:
        ET.SubElement(resource, "file", {"href": image})
    return ET.tostring(resource, encoding="unicode")


def manifest_head(identifier: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest xmlns="{CP_NS}" xmlns:imsmd="{LOM_NS}" xmlns:ds="{DS_NS}" '
        f'xmlns:xsi="{XSI_NS}" identifier="{identifier}" '
        f'xsi:schemaLocation="{CP_NS} {CP_SCHEMA} {LOM_NS} {LOM_SCHEMA}">\n'
        "<metadata><schema>QTI Package</schema><schemaversion>3.0.0</schemaversion></metadata>\n"
        "<organizations/>\n<resources>\n"
    )


MANIFEST_TAIL = "</resources>\n</manifest>\n"


# --- The package -------------------------------------------------------------------------------


def _row(item) -> dict:
    from dreamseed.itembank.import_export import item_export_row

    return item if isinstance(item, dict) else item_export_row(item)


def export_qti(
    items: Iterable, out: IO[bytes], *, package_id: str = "dreamseed-items"
) -> QtiExport:
    """Write the package for `items` (Items or export rows) to the binary file `out`."""
    summary = QtiExport()
    taken: set[str] = set()
    written_images: dict[str, str | None] = {}  # src -> package path (None: not found)
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package,
        tempfile.TemporaryFile("w+", encoding="utf-8") as resources,
    ):
        for item in items:
            row = _row(item)
            identifier = qti_identifier(row["external_id"], taken)
            href = f"{ITEMS_FOLDER}{identifier}.xml"
            used: list[str] = []

            def image_src(src: str, external_id=row["external_id"], used=used) -> str:
                if src not in written_images:
                    image = image_load(src)
                    if image is None:
                        written_images[src] = None
                        summary.notes.append(
                            _(
                                "%(id)s: the image %(src)s was not found; "
                                "its reference is kept as it was."
                            )
                            % {"id": external_id, "src": src[:80]}
                        )
                    else:
                        path = IMAGES_FOLDER + image.name
                        if ITEMS_FOLDER + path not in package.NameToInfo:
                            package.writestr(
                                ITEMS_FOLDER + path, image.data, compress_type=zipfile.ZIP_STORED
                            )
                            summary.images += 1
                        written_images[src] = path
                path = written_images[src]
                if path is None:
                    return src
                if ITEMS_FOLDER + path not in used:
                    used.append(ITEMS_FOLDER + path)
                return path

            package.writestr(href, item_document(row, identifier, image_src))
            resources.write(resource_fragment(row, identifier, href, used))
            resources.write("\n")
            summary.items += 1
        resources.seek(0)
        with package.open("imsmanifest.xml", "w") as manifest:
            manifest.write(manifest_head(re.sub(r"[^A-Za-z0-9_.-]", "_", package_id)).encode())
            while chunk := resources.read(1 << 20):
                manifest.write(chunk.encode())
            manifest.write(MANIFEST_TAIL.encode())
        if summary.notes:
            package.writestr(NOTES_NAME, "\n".join(summary.notes) + "\n")
    return summary


def export_qti_file(items: Iterable, *, package_id: str = "dreamseed-items"):
    """(the package in a spooled temporary file, rewound; the summary)."""
    # Handed to the caller open (a FileResponse closes it after sending); closed here on failure.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        summary = export_qti(items, spool, package_id=package_id)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, summary
