"""Exporting the bank as a QTI 3.0 package and as Moodle XML: the shape of what is written
(namespaces, identifiers, correct responses per kind, what Moodle's importer reads), who may
download it, and round trips through our own importers into a fresh school."""

import base64
import hashlib
import io
import json
import xml.etree.ElementTree as ET
import zipfile

import pytest

from dreamseed.itembank.formats.moodlexml_export import export_moodle_xml, fraction_text
from dreamseed.itembank.formats.qti_export import (
    CP_NS,
    DS_NS,
    LOM_NS,
    QTI_NS,
    export_qti,
    qti_identifier,
)
from dreamseed.testing import in_schema

# A 2 x 1 PNG (real bytes: the importers check images with Pillow).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGM8ISfHwMAAAAXMAQZFiFnUAAAAAElFTkSuQmCC"
)
PNG_NAME = hashlib.sha256(PNG).hexdigest() + ".png"
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
Q = {"q": QTI_NS}
CP = {"cp": CP_NS, "ds": DS_NS, "imsmd": LOM_NS}

BASE = {
    "status": "active",
    "subject": "Mathematics",
    "grade": "5",
    "content_area": "Fractions",
    "standards": ["5.NF.A.1", "fractions"],
    "model": "3PL",
    "a": 1.2345678901234567,
    "b": -0.3,
    "c": 0.2,
    "d": 1.0,
    "se_a": 0.11,
    "se_b": None,
    "se_c": None,
    "options": [],
    "correct_key": "",
    "answer": {},
}
ABC = [{"key": "A", "text": "alpha"}, {"key": "B", "text": "beta"}, {"key": "C", "text": "gamma"}]


def _rows() -> list[dict]:
    """One item of every kind, as export rows."""
    return [
        dict(
            BASE,
            external_id="K-single",
            kind="single",
            stem=f'<p>Which is $a&lt;b$? <img src="{DATA_URL}" alt="a dot"></p>',
            options=ABC,
            correct_key="B",
        ),
        dict(
            BASE,
            external_id="7:multi",
            kind="multiple",
            stem="Pick <em>two</em>",
            options=ABC,
            answer={"keys": ["A", "C"]},
        ),
        dict(BASE, external_id="K-tf", kind="truefalse", stem="<p>2 is even.</p>", correct_key="T"),
        dict(
            BASE,
            external_id="K-num",
            kind="numeric",
            stem="<p>Length?</p>",
            answer={"value": 3.5, "tolerance": 0.05, "units": ["cm"], "unit_required": True},
        ),
        dict(
            BASE,
            external_id="K-text",
            kind="text",
            stem="<p>Capital of France?</p>",
            answer={"accepted": ["Paris", "the city of *"], "case_sensitive": False},
        ),
        dict(
            BASE,
            external_id="K-order",
            kind="ordering",
            stem="<p>Smallest first</p>",
            options=ABC,
            answer={"order": ["C", "A", "B"]},
        ),
        dict(
            BASE,
            external_id="K-essay",
            kind="extended",
            status="pilot",
            b=None,
            content_area="Writing",
            stem="<p>Describe your holiday.</p>",
        ),
    ]


def _package(rows) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    export_qti(rows, buffer)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def _item(package, manifest, external_id) -> tuple[ET.Element, ET.Element]:
    """(the item's manifest resource, its qti-assessment-item root)."""
    for resource in manifest.iterfind("cp:resources/cp:resource", CP):
        if resource.find("cp:metadata/ds:item", CP).get("external-id") == external_id:
            return resource, ET.fromstring(package.read(resource.get("href")))
    raise AssertionError(external_id)


def _correct(root) -> list[str]:
    return [value.text for value in root.iterfind(".//q:qti-correct-response/q:qti-value", Q)]


# --- QTI 3.0 ----------------------------------------------------------------------------------


def test_the_qti_manifest_lists_every_item_with_our_parameters():
    package = _package(_rows())
    manifest = ET.fromstring(package.read("imsmanifest.xml"))
    assert manifest.tag == f"{{{CP_NS}}}manifest"
    assert manifest.findtext("cp:metadata/cp:schemaversion", namespaces=CP) == "3.0.0"
    resources = manifest.findall("cp:resources/cp:resource", CP)
    assert len(resources) == 7
    for resource in resources:
        assert resource.get("type") == "imsqti_item_xmlv3p0"
        assert resource.get("identifier").startswith("RES-")
        for file in resource.iterfind("cp:file", CP):
            assert file.get("href") in package.namelist()
    resource, _root = _item(package, manifest, "K-single")
    metadata = resource.find("cp:metadata/ds:item", CP)
    assert metadata.attrib == {
        "external-id": "K-single",
        "kind": "single",
        "status": "active",
        "subject": "Mathematics",
        "grade": "5",
        "content-area": "Fractions",
    }
    irt = metadata.find("ds:irt", CP).attrib
    assert irt == {"model": "3PL", "a": "1.2345678901234567", "b": "-0.3", "c": "0.2", "d": "1.0",
                   "se-a": "0.11"}  # fmt: skip
    assert float(irt["a"]) == BASE["a"]  # exact
    assert [s.text for s in metadata.iterfind("ds:standard", CP)] == ["5.NF.A.1", "fractions"]
    assert json.loads(metadata.findtext("ds:answer", namespaces=CP)) == {}
    lom_id = resource.find("cp:metadata/imsmd:lom/imsmd:general/imsmd:identifier", CP)
    assert lom_id.findtext("imsmd:entry", namespaces=CP) == "K-single"
    # The pilot essay has no difficulty: no b at all (not "None").
    resource, _root = _item(package, manifest, "K-essay")
    assert "b" not in resource.find("cp:metadata/ds:item/ds:irt", CP).attrib


def test_each_kind_is_the_matching_qti_interaction_with_its_correct_response():
    package = _package(_rows())
    manifest = ET.fromstring(package.read("imsmanifest.xml"))
    for resource in manifest.iterfind("cp:resources/cp:resource", CP):
        root = ET.fromstring(package.read(resource.get("href")))
        assert root.tag == f"{{{QTI_NS}}}qti-assessment-item"
        assert root.get("identifier") == resource.get("identifier")[len("RES-") :]

    _resource, single = _item(package, manifest, "K-single")
    declaration = single.find("q:qti-response-declaration", Q)
    assert (declaration.get("cardinality"), declaration.get("base-type")) == (
        "single",
        "identifier",
    )
    assert _correct(single) == ["B"]
    interaction = single.find("q:qti-item-body/q:qti-choice-interaction", Q)
    assert interaction.get("max-choices") == "1"
    choices = interaction.findall("q:qti-simple-choice", Q)
    assert [(c.get("identifier"), c.text) for c in choices] == [
        ("A", "alpha"), ("B", "beta"), ("C", "gamma"),
    ]  # fmt: skip
    template = single.find("q:qti-response-processing", Q).get("template")
    assert template.endswith("/rptemplates/match_correct.xml")

    _resource, multi = _item(package, manifest, "7:multi")
    assert multi.get("identifier") == "I-7_multi" and multi.get("title") == "7:multi"
    assert multi.find("q:qti-response-declaration", Q).get("cardinality") == "multiple"
    assert _correct(multi) == ["A", "C"]
    assert multi.find(".//q:qti-choice-interaction", Q).get("max-choices") == "0"
    # A stem without paragraphs is wrapped: an item body holds blocks.
    assert multi.find("q:qti-item-body/q:div/q:em", Q).text == "two"

    _resource, true_false = _item(package, manifest, "K-tf")
    assert _correct(true_false) == ["T"]
    identifiers = [c.get("identifier") for c in true_false.iterfind(".//q:qti-simple-choice", Q)]
    assert identifiers == ["T", "F"]

    _resource, numeric = _item(package, manifest, "K-num")
    assert numeric.find("q:qti-response-declaration", Q).get("base-type") == "float"
    assert _correct(numeric) == ["3.5"]
    assert numeric.find(".//q:qti-text-entry-interaction", Q) is not None
    equal = numeric.find(".//q:qti-response-if/q:qti-equal", Q)
    assert (equal.get("tolerance-mode"), equal.get("tolerance")) == ("absolute", "0.05 0.05")

    _resource, text = _item(package, manifest, "K-text")
    assert text.find("q:qti-response-declaration", Q).get("base-type") == "string"
    assert _correct(text) == ["Paris"]
    entries = text.findall(".//q:qti-mapping/q:qti-map-entry", Q)
    assert [(e.get("map-key"), e.get("case-sensitive")) for e in entries] == [
        ("Paris", "false"), ("the city of *", "false"),
    ]  # fmt: skip
    assert text.find("q:qti-response-processing", Q).get("template").endswith("map_response.xml")

    _resource, order = _item(package, manifest, "K-order")
    assert order.find("q:qti-response-declaration", Q).get("cardinality") == "ordered"
    assert _correct(order) == ["C", "A", "B"]
    assert len(order.findall(".//q:qti-order-interaction/q:qti-simple-choice", Q)) == 3

    _resource, essay = _item(package, manifest, "K-essay")
    assert essay.find(".//q:qti-extended-text-interaction", Q) is not None
    assert essay.find(".//q:qti-correct-response", Q) is None
    assert essay.find("q:qti-response-processing", Q) is None
    assert essay.find("q:qti-outcome-declaration", Q).get("external-scored") == "human"


def test_images_are_copied_into_the_package_and_referenced_relatively():
    package = _package(_rows())
    manifest = ET.fromstring(package.read("imsmanifest.xml"))
    resource, single = _item(package, manifest, "K-single")
    image = single.find(".//q:img", Q)
    assert image.get("src") == f"images/{PNG_NAME}" and image.get("alt") == "a dot"
    assert package.read(f"items/images/{PNG_NAME}") == PNG
    files = [file.get("href") for file in resource.iterfind("cp:file", CP)]
    assert files == ["items/K-single.xml", f"items/images/{PNG_NAME}"]
    # Math keeps its "<" as text.
    assert "$a<b$" in "".join(single.find("q:qti-item-body/q:p", Q).itertext())


def test_identifiers_are_valid_and_unique_even_without_case():
    taken: set[str] = set()
    assert qti_identifier("Q1", taken) == "Q1"
    assert qti_identifier("q1", taken) == "q1-2"
    assert qti_identifier("5.NF:1", taken) == "I-5.NF_1"


def test_option_keys_that_are_not_identifiers_get_a_prefix():
    options = [{"key": "1", "text": "one"}, {"key": "2", "text": "two"}]
    row = dict(_rows()[0], options=options, correct_key="2", stem="<p>Pick</p>")
    package = _package([row])
    root = ET.fromstring(package.read("items/K-single.xml"))
    assert _correct(root) == ["C2"]
    assert [c.get("identifier") for c in root.iterfind(".//q:qti-simple-choice", Q)] == [
        "C1", "C2",
    ]  # fmt: skip


def test_text_that_xml_cannot_hold_is_dropped_not_a_broken_file():
    row = dict(_rows()[2], stem="<p>bell\x07 and \x0b tab</p>")
    package = _package([row])
    (name,) = [n for n in package.namelist() if n.startswith("items/")]
    root = ET.fromstring(package.read(name))
    assert root.find(".//q:qti-item-body/q:p", Q).text == "bell and  tab"


# --- Moodle XML ------------------------------------------------------------------------------


def _moodle(rows, notes=None) -> ET.Element:
    return ET.fromstring("".join(export_moodle_xml(rows, notes)))


def _question(quiz, idnumber) -> ET.Element:
    for question in quiz.iterfind("question"):
        if question.findtext("idnumber") == idnumber:
            return question
    raise AssertionError(idnumber)


def _answers(question) -> list[tuple[str, str]]:
    return [(a.get("fraction"), a.findtext("text")) for a in question.iterfind("answer")]


def test_moodle_xml_has_what_moodles_importer_reads():
    quiz = _moodle(_rows())
    assert quiz.tag == "quiz"
    categories = [q.findtext("category/text") for q in quiz.iterfind("question[@type='category']")]
    assert categories == ["$course$/top/Fractions", "$course$/top/Writing"]
    types = {q.findtext("idnumber"): q.get("type") for q in quiz.iterfind("question")}
    assert types == {
        None: "category",
        "K-single": "multichoice",
        "7:multi": "multichoice",
        "K-tf": "truefalse",
        "K-num": "numerical",
        "K-text": "shortanswer",
        "K-order": "ordering",
        "K-essay": "essay",
    }
    for question in quiz.iterfind("question"):
        if question.get("type") == "category":
            continue
        assert question.findtext("name/text") == question.findtext("idnumber")
        assert question.find("questiontext").get("format") == "html"
        assert question.findtext("defaultgrade") in ("0", "1")

    single = _question(quiz, "K-single")
    assert single.findtext("single") == "true"
    assert _answers(single) == [("0", "alpha"), ("100", "beta"), ("0", "gamma")]

    multi = _question(quiz, "7:multi")
    assert multi.findtext("single") == "false"
    assert _answers(multi) == [("50", "alpha"), ("-100", "beta"), ("50", "gamma")]

    true_false = _question(quiz, "K-tf")
    assert _answers(true_false) == [("100", "true"), ("0", "false")]

    numeric = _question(quiz, "K-num")
    assert _answers(numeric) == [("100", "3.5")]
    assert numeric.findtext("answer/tolerance") == "0.05"
    assert [u.findtext("unit_name") for u in numeric.iterfind("units/unit")] == ["cm"]
    assert numeric.findtext("unitgradingtype") == "1" and numeric.findtext("unitpenalty") == "1"
    assert numeric.findtext("showunits") == "0"

    text = _question(quiz, "K-text")
    assert text.findtext("usecase") == "0"
    assert _answers(text) == [("100", "Paris"), ("100", "the city of *")]

    order = _question(quiz, "K-order")
    assert _answers(order) == [("1", "gamma"), ("2", "alpha"), ("3", "beta")]
    assert "dreamseed:order=C,A,B" in [t.text for t in order.iterfind("tags/tag/text")]
    assert order.findtext("gradingtype") == "ALL_OR_NOTHING"
    assert order.findtext("selecttype") == "ALL"

    essay = _question(quiz, "K-essay")
    assert essay.findtext("responseformat") == "editor" and essay.findtext("defaultgrade") == "0"


def test_moodle_tags_carry_the_parameters_and_fields():
    quiz = _moodle(_rows())
    tags = [t.text for t in _question(quiz, "K-single").iterfind("tags/tag/text")]
    assert tags == [
        "dreamseed:status=active",
        "dreamseed:model=3PL",
        "dreamseed:a=1.2345678901234567",
        "dreamseed:b=-0.3",
        "dreamseed:c=0.2",
        "dreamseed:d=1.0",
        "dreamseed:se_a=0.11",
        "dreamseed:subject=Mathematics",
        "dreamseed:grade=5",
        "dreamseed:standard=5.NF.A.1",
        "dreamseed:standard=fractions",
    ]
    assert all(len(tag) <= 50 for tag in tags)  # Moodle cuts longer tags
    essay_tags = [t.text for t in _question(quiz, "K-essay").iterfind("tags/tag/text")]
    assert "dreamseed:status=pilot" in essay_tags
    assert not any(tag.startswith("dreamseed:b=") for tag in essay_tags)


def test_moodle_images_travel_as_pluginfile_with_base64_bytes():
    quiz = _moodle(_rows())
    questiontext = _question(quiz, "K-single").find("questiontext")
    assert f'src="@@PLUGINFILE@@/{PNG_NAME}"' in questiontext.findtext("text")
    file = questiontext.find("file")
    assert file.attrib == {"name": PNG_NAME, "path": "/", "encoding": "base64"}
    assert base64.b64decode(file.text) == PNG


def test_moodle_fractions_of_a_multiple_select_add_up_to_one():
    for count in range(1, 7):
        share = fraction_text(100 / count)
        assert abs(float(share) * count - 100) < 0.001, (count, share)
    assert fraction_text(100 / 3) == "33.33333"


def test_a_category_slash_is_doubled_and_a_missing_image_is_noted():
    row = dict(
        _rows()[0], content_area="Maths/Fractions", stem='<p><img src="/x/gone.png" alt="g">'
    )
    notes: list[str] = []
    quiz = _moodle([row], notes)
    assert quiz.findtext("question/category/text") == "$course$/top/Maths//Fractions"
    assert notes and "gone.png" in notes[0]
    assert 'src="/x/gone.png"' in _question(quiz, "K-single").findtext("questiontext/text")


# --- The pages ---------------------------------------------------------------------------------

EXPORTS = ("/items/export.qti.zip", "/items/export.moodle.xml")


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_a_teacher_downloads_both_formats_of_the_filtered_list(client_for, alpha_teacher, item):
    from dreamseed.itembank.tests.conftest import make_item

    make_item(alpha_teacher, external_id="OTHER-1", content_area="Geometry")
    client = client_for(alpha_teacher)
    page = client.get("/items/")
    for url in EXPORTS:
        assert url in page.text

    response = client.get("/items/export.qti.zip?q=ALPHA")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith('.qti.zip"')
    package = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert sorted(package.namelist()) == ["imsmanifest.xml", "items/ALPHA-1.xml"]
    assert b"Alpha secret question" in package.read("items/ALPHA-1.xml")

    response = client.get("/items/export.moodle.xml?q=ALPHA")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    quiz = ET.fromstring(_body(response))
    assert [q.findtext("idnumber") for q in quiz.iterfind("question[@type='multichoice']")] == [
        "ALPHA-1"
    ]
    assert client.get("/items/export.pdf").status_code == 404


@pytest.mark.django_db
def test_students_cannot_export_and_other_schools_get_only_their_own(
    client_for, alpha_student, beta_teacher, item
):
    for url in EXPORTS:
        response = client_for(alpha_student).get(url)
        assert response.status_code == 403
        assert b"Alpha secret" not in response.content
        response = client_for(beta_teacher).get(url)
        assert response.status_code == 200
        body = _body(response)
        if url.endswith(".zip"):
            package = zipfile.ZipFile(io.BytesIO(body))
            assert package.namelist() == ["imsmanifest.xml"]
            body = b"".join(package.read(name) for name in package.namelist())
        assert b"ALPHA-1" not in body and b"Alpha secret" not in body


@pytest.mark.django_db
def test_a_stored_image_is_exported_from_the_schools_storage(
    client_for, alpha_teacher, settings, tmp_path
):
    from dreamseed.itembank import media
    from dreamseed.itembank.tests.conftest import make_item

    settings.MEDIA_ROOT = str(tmp_path)
    with in_schema(alpha_teacher.schema_name):
        url = media.image_save(PNG, "png")
    make_item(alpha_teacher, external_id="IMG-1", stem=f'<p><img src="{url}" alt="bars"></p>')
    client = client_for(alpha_teacher)
    package = zipfile.ZipFile(io.BytesIO(_body(client.get("/items/export.qti.zip"))))
    assert package.read(f"items/images/{PNG_NAME}") == PNG
    quiz = ET.fromstring(_body(client.get("/items/export.moodle.xml")))
    assert base64.b64decode(quiz.findtext("question/questiontext/file")) == PNG


# --- Partial credit (GPCM/GRM items and scoring rules) -----------------------------------------

POLY = {**BASE, "model": "GPCM", "c": 0.0, "d": 1.0, "b": 0.1, "se_a": None}


def _partial_rows() -> list[dict]:
    return [
        dict(POLY, external_id="P-multi", kind="multiple", stem="<p>Pick</p>", options=ABC,
             answer={"keys": ["A", "C"], "scoring": "partial"}, steps=[-0.5, 0.7]),
        dict(POLY, external_id="P-num", kind="numeric", stem="<p>Value?</p>", model="GRM",
             answer={"value": 10.0, "tolerance": 0.1, "partial_tolerance": 1.0, "units": [],
                     "unit_required": False}, steps=[-1.25, 1.5]),
        dict(POLY, external_id="P-text", kind="text", stem="<p>Explain briefly</p>",
             answer={"accepted": ["because"], "case_sensitive": False, "scoring": "rubric",
                     "max_points": 3}, steps=[-1.0, 0.0, 1.0]),
        dict(POLY, external_id="P-essay", kind="extended", stem="<p>Essay</p>",
             answer={"max_points": 2}, steps=[]),
    ]  # fmt: skip


def test_partial_credit_items_keep_their_steps_and_scoring_in_qti():
    package = _package(_partial_rows())
    manifest = ET.fromstring(package.read("imsmanifest.xml"))

    resource, multi = _item(package, manifest, "P-multi")
    irt = resource.find("cp:metadata/ds:item/ds:irt", CP)
    assert (irt.get("model"), irt.get("steps")) == ("GPCM", "-0.5 0.7")
    answer = json.loads(resource.findtext("cp:metadata/ds:item/ds:answer", namespaces=CP))
    assert answer == {"keys": ["A", "C"], "scoring": "partial"}
    mapping = multi.find(".//q:qti-mapping", Q)
    assert (mapping.get("lower-bound"), mapping.get("upper-bound")) == ("0", "2")
    entries = [(e.get("map-key"), e.get("mapped-value")) for e in mapping]
    assert entries == [("A", "1"), ("B", "-1"), ("C", "1")]
    assert multi.find("q:qti-response-processing", Q).get("template").endswith("map_response.xml")
    assert multi.find("q:qti-outcome-declaration", Q).get("normal-maximum") == "2"

    _resource, numeric = _item(package, manifest, "P-num")
    condition = numeric.find("q:qti-response-processing/q:qti-response-condition", Q)
    branches = [
        (branch.tag.split("}")[1], branch.find("q:qti-equal", Q).get("tolerance"),
         branch.findtext(".//q:qti-base-value", namespaces=Q))
        for branch in condition if branch.find("q:qti-equal", Q) is not None
    ]  # fmt: skip
    assert branches == [
        ("qti-response-if", "0.1 0.1", "2"), ("qti-response-else-if", "1.0 1.0", "1"),
    ]  # fmt: skip
    assert numeric.find("q:qti-outcome-declaration", Q).get("normal-maximum") == "2"

    _resource, text = _item(package, manifest, "P-text")
    outcome = text.find("q:qti-outcome-declaration", Q)
    assert (outcome.get("external-scored"), outcome.get("normal-maximum")) == ("human", "3")
    assert text.find("q:qti-response-processing", Q) is None  # a teacher gives the points

    _resource, essay = _item(package, manifest, "P-essay")
    outcome = essay.find("q:qti-outcome-declaration", Q)
    assert (outcome.get("external-scored"), outcome.get("normal-maximum")) == ("human", "2")


def test_partial_credit_items_in_moodle_xml():
    quiz = _moodle(_partial_rows())
    multi = _question(quiz, "P-multi")
    assert _answers(multi) == [("50", "alpha"), ("-50", "beta"), ("50", "gamma")]
    assert multi.findtext("defaultgrade") == "2"
    tags = [t.text for t in multi.iterfind("tags/tag/text")]
    assert tags[-3:] == ["dreamseed:step=-0.5", "dreamseed:step=0.7", "dreamseed:scoring=partial"]
    assert "dreamseed:model=GPCM" in tags

    numeric = _question(quiz, "P-num")
    answers = [(a.get("fraction"), a.findtext("text"), a.findtext("tolerance"))
               for a in numeric.iterfind("answer")]  # fmt: skip
    assert answers == [("100", "10.0", "0.1"), ("50", "10.0", "1.0")]
    assert "dreamseed:partial_tolerance=1.0" in [t.text for t in numeric.iterfind("tags/tag/text")]

    text = _question(quiz, "P-text")
    assert text.findtext("defaultgrade") == "3"
    text_tags = [t.text for t in text.iterfind("tags/tag/text")]
    assert {"dreamseed:scoring=rubric", "dreamseed:max_points=3"} <= set(text_tags)

    assert _question(quiz, "P-essay").findtext("defaultgrade") == "2"
