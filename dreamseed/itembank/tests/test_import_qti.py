"""Reading QTI 2.1 and 3.0 content packages: every supported interaction in both versions (from
hand-written fixtures after the published examples), DreamSeed metadata, and hostile packages."""

import io
import zipfile
from pathlib import Path

import pytest

from dreamseed.itembank.formats import qti
from dreamseed.itembank.formats.qti import QtiPackageError, qti_package_read
from dreamseed.itembank.sanitize import stem_clean
from dreamseed.itembank.validation import item_values_clean

FIXTURES = Path(__file__).parent / "fixtures"
QTI21_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"


def messages(package) -> list[str]:
    return [str(problem) for problem in package.problems]


def zip_folder(folder: Path) -> bytes:
    """A fixture folder as a package, the way a content-packaging tool writes one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                package.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_files(files: dict, *, infos: list | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in files.items():
            package.writestr(name, data)
        for info, data in infos or []:
            package.writestr(info, data)
    return buffer.getvalue()


def manifest(*resources: tuple[str, str], version: str = "2p1") -> str:
    entries = "".join(
        f'<resource identifier="{identifier}" type="imsqti_item_xmlv{version}" href="{href}">'
        f'<file href="{href}"/></resource>'
        for identifier, href in resources
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="M">'
        f"<organizations/><resources>{entries}</resources></manifest>"
    )


def choice_item(identifier="q1", body_extra="", choices=None, correct="A") -> str:
    choices = choices or [("A", "Four"), ("B", "Five")]
    simple = "".join(f'<simpleChoice identifier="{k}">{t}</simpleChoice>' for k, t in choices)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="{QTI21_NS}" identifier="{identifier}" title="T" adaptive="false"
    timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>{correct}</value></correctResponse>
  </responseDeclaration>
  <itemBody>
    <p>What is 2 + 2?</p>{body_extra}
    <choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">{simple}</choiceInteraction>
  </itemBody>
</assessmentItem>"""


def read_one(item_xml: str, extra: dict | None = None) -> qti.QtiPackage:
    files = {"imsmanifest.xml": manifest(("item1", "items/q1.xml")), "items/q1.xml": item_xml}
    files.update(extra or {})
    return qti_package_read(zip_files(files))


@pytest.fixture(scope="module")
def qti21():
    package = qti_package_read(zip_folder(FIXTURES / "qti21"))
    return package, {item.resource: item.raw for item in package.items}


@pytest.fixture(scope="module")
def qti30():
    package = qti_package_read(zip_folder(FIXTURES / "qti30"))
    return package, {item.resource: item.raw for item in package.items}


# --- QTI 2.1 -----------------------------------------------------------------------------------


def test_a_qti21_package_reads_every_item_without_problems(qti21):
    package, items = qti21
    assert package.version == "2.1"
    assert messages(package) == []
    assert set(items) == {
        "choice",
        "choice_multiple",
        "text_entry",
        "numeric_entry",
        "order",
        "extended_text",
        "true_false",
    }  # fmt: skip  (the assessmentTest resource is not an item)


def test_qti21_single_choice_keeps_its_image_and_prompt(qti21):
    package, items = qti21
    item = items["choice"]
    assert item["kind"] == "single"
    assert item["correct_key"] == "A"
    assert [option["text"] for option in item["options"]] == [
        "You must stay with your luggage at all times.",
        "Do not let someone else look after your luggage.",
        "Remember your luggage when you leave.",
    ]
    sign = (FIXTURES / "qti21/items/images/sign.png").read_bytes()
    url = qti.media.image_url(sign, "png")
    assert package.assets[url] == (sign, "png")
    assert stem_clean(item["stem"]) == (
        f'<p>Look at the text in the picture.</p><p><img src="{url}" '
        'alt="NEVER LEAVE LUGGAGE UNATTENDED"></p><p>What does it say?</p>'
    )


def test_qti21_irt_parameters_in_the_manifest_are_kept(qti21):
    _package, items = qti21
    item = items["choice"]
    assert (item["model"], item["a"], item["b"], item["c"], item["d"]) == (
        "3PL", "1.25", "-0.4", "0.2", "1",
    )  # fmt: skip
    assert item["status"] == "active"
    assert (item["subject"], item["grade"], item["content_area"]) == ("Safety", "7", "Travel")
    assert item["standards"] == ["TRAVEL.1"]


def test_items_without_irt_parameters_are_drafts(qti21):
    _package, items = qti21
    # No status and no parameters: validation makes a new item a draft, an existing one keeps
    # its status.
    assert "status" not in items["choice_multiple"]
    assert "b" not in items["choice_multiple"]


def test_qti21_multiple_choice_needs_every_correct_key(qti21):
    item = qti21[1]["choice_multiple"]
    assert item["kind"] == "multiple"
    assert item["answer"] == {"keys": ["A", "D"]}  # Hydrogen and Oxygen
    assert len(item["options"]) == 6
    assert item["correct_key"] == ""


def test_qti21_text_entry_accepts_the_positively_mapped_answers(qti21):
    item = qti21[1]["text_entry"]
    assert item["kind"] == "text"
    # York (correct), york (mapped 0.5); Lancaster is mapped to 0 and so not accepted.
    assert item["answer"] == {"accepted": ["York", "york"], "case_sensitive": True}
    stem = stem_clean(item["stem"])
    assert "Made glorious summer by this sun of _____;" in stem
    assert "<br>" in stem


def test_qti21_float_entry_is_numeric_with_the_equal_tolerance(qti21):
    item = qti21[1]["numeric_entry"]
    assert item["kind"] == "numeric"
    assert item["answer"] == {
        "value": 3.14,
        "tolerance": 0.005,
        "units": [],
        "unit_required": False,
    }
    assert stem_clean(item["stem"]) == "<p>Give <em>π</em> to two decimal places: _____</p>"


def test_qti21_order_interaction_is_ordering(qti21):
    item = qti21[1]["order"]
    assert item["kind"] == "ordering"
    assert [option["text"] for option in item["options"]] == [
        "Rubens Barrichello", "Jenson Button", "Michael Schumacher",
    ]  # fmt: skip
    assert item["answer"] == {"order": ["C", "A", "B"]}


def test_qti21_extended_text_is_not_scored_and_drops_the_scorer_rubric(qti21):
    _package, items = qti21
    item = items["extended_text"]
    assert item["kind"] == "extended"
    assert item["answer"] == {}
    stem = stem_clean(item["stem"])
    assert "Write Sam a postcard." in stem
    assert "Award up to 3 marks" not in stem
    postcard = (FIXTURES / "qti21/items/images/postcard.png").read_bytes()
    assert qti.media.image_url(postcard, "png") in stem  # an <object type="image/png">


def test_a_two_choice_true_false_item_becomes_truefalse(qti21):
    item = qti21[1]["true_false"]
    assert item["kind"] == "truefalse"
    assert item["correct_key"] == "F"
    assert item["options"] == []
    assert "Right." not in item["stem"]  # inline feedback is left out


# --- QTI 3.0 -----------------------------------------------------------------------------------


def test_a_qti30_package_reads_every_item(qti30):
    package, items = qti30
    assert package.version == "3.0"
    assert messages(package) == []
    assert {raw["kind"] for raw in items.values()} == {
        "single", "multiple", "text", "numeric", "ordering", "extended",
    }  # fmt: skip


def test_qti30_choice_with_mathml_and_a_sanitised_identifier(qti30):
    package, items = qti30
    item = items["q3-choice"]
    assert item["external_id"] == "Q3-Triangle-angles-1"  # from "Q3 Triangle/angles #1"
    assert item["kind"] == "single"
    assert item["correct_key"] == "C"
    assert item["options"][2] == {"key": "C", "text": "<strong>180</strong>"}
    stem = stem_clean(item["stem"])
    assert "\\(x^\\circ\\)" in stem  # the MathML's TeX annotation, for KaTeX
    assert 'width="60" height="60"' in stem
    assert len(package.assets) == 1


def test_qti30_multiple_choice_keeps_candidate_instructions(qti30):
    item = qti30[1]["q3-multiple"]
    assert item["kind"] == "multiple"
    assert item["answer"] == {"keys": ["A", "B", "D"]}
    assert stem_clean(item["stem"]).startswith("<p>Select all that apply.</p>")


def test_qti30_text_entry_is_case_insensitive_unless_told(qti30):
    item = qti30[1]["q3-text"]
    assert item["answer"] == {"accepted": ["Harrisburg", "Harrisberg"], "case_sensitive": False}


def test_qti30_relative_tolerance_becomes_absolute(qti30):
    item = qti30[1]["q3-numeric"]
    assert item["answer"]["value"] == 12.5
    assert item["answer"]["tolerance"] == pytest.approx(0.25)  # 2 % of 12.5


def test_qti30_order_and_extended(qti30):
    items = qti30[1]
    assert items["q3-order"]["answer"] == {"order": ["C", "A", "B"]}
    assert items["q3-essay"]["kind"] == "extended"
    assert "Write an abstract" in items["q3-essay"]["stem"]


def test_integer_entry_without_tolerance_is_exact():
    item = f"""<assessmentItem xmlns="{QTI21_NS}" identifier="n" title="n">
      <responseDeclaration identifier="R" cardinality="single" baseType="integer">
        <correctResponse><value>42</value></correctResponse></responseDeclaration>
      <itemBody><p>6 x 7 = <textEntryInteraction responseIdentifier="R"/></p></itemBody>
    </assessmentItem>"""
    raw = read_one(item).items[0].raw
    assert raw["answer"] == {"value": 42, "tolerance": 0.0, "units": [], "unit_required": False}


def test_numeric_units_from_dreamseed_metadata():
    item = f"""<assessmentItem xmlns="{QTI21_NS}" identifier="n" title="n"
        xmlns:ds="https://dreamseed.org/xsd/qti-metadata/v1">
      <responseDeclaration identifier="R" cardinality="single" baseType="float">
        <correctResponse><value>2.5</value></correctResponse></responseDeclaration>
      <itemBody><p>Length? <textEntryInteraction responseIdentifier="R"/></p></itemBody>
      <ds:item><ds:units required="yes"><ds:unit>cm</ds:unit><ds:unit>centimetres</ds:unit>
      </ds:units></ds:item>
    </assessmentItem>"""
    raw = read_one(item).items[0].raw
    assert raw["answer"]["units"] == ["cm", "centimetres"]
    assert raw["answer"]["unit_required"] is True
    assert "status" not in raw  # no ds:irt: the difficulty is unknown, the item stays a draft


# --- Problems name their place ------------------------------------------------------------------


def test_an_unsupported_interaction_is_named_with_its_line():
    item = f"""<?xml version="1.0"?>
<assessmentItem xmlns="{QTI21_NS}" identifier="h" title="h">
  <responseDeclaration identifier="R" cardinality="single" baseType="point"/>
  <itemBody>
    <hotspotInteraction responseIdentifier="R" maxChoices="1"/>
  </itemBody>
</assessmentItem>"""
    package = read_one(item)
    assert package.items == []
    assert messages(package) == [
        "items/q1.xml line 5, <hotspotInteraction>: this interaction is not supported; "
        "the supported ones are choice, inline choice, text entry, order and extended text."
    ]


def test_a_correct_response_that_is_not_a_choice_is_named():
    package = read_one(choice_item(correct="Z"))
    assert messages(package) == [
        "items/q1.xml line 4, <responseDeclaration>: the correct response “Z” is not one of "
        "the choices."
    ]


def test_an_item_file_missing_from_the_package_is_named():
    files = {
        "imsmanifest.xml": manifest(("item1", "items/q1.xml"), ("item3", "items/q3.xml")),
        "items/q1.xml": choice_item(),
    }
    package = qti_package_read(zip_files(files))
    assert len(package.items) == 1
    assert messages(package) == [
        "imsmanifest.xml, resource 'item3': the file “items/q3.xml” is not in the package."
    ]


def test_a_missing_image_is_named():
    package = read_one(choice_item(body_extra='<p><img src="img/gone.png" alt="x"/></p>'))
    assert messages(package) == [
        "items/q1.xml line 8, <img>: the image “items/img/gone.png” is not in the package."
    ]


def test_a_file_that_is_not_an_image_is_refused():
    package = read_one(
        choice_item(body_extra='<p><img src="fake.png" alt="x"/></p>'),
        {"items/fake.png": b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"},
    )
    assert messages(package) == [
        "items/q1.xml line 8, <img>: items/fake.png is an SVG drawing, which can carry scripts: "
        "use PNG or JPEG."
    ]
    assert package.assets == {}


def test_a_broken_xml_file_is_named_with_its_line():
    package = read_one('<?xml version="1.0"?>\n<assessmentItem>\n<itemBody>\n</assessmentItem>')
    assert len(messages(package)) == 1
    assert messages(package)[0].startswith("items/q1.xml line 4: the XML is not well-formed")


def test_qti12_items_are_named_as_unsupported():
    files = {
        "imsmanifest.xml": manifest(("old", "items/q1.xml"), version="1p2"),
        "items/q1.xml": "<questestinterop/>",
    }
    package = qti_package_read(zip_files(files))
    assert messages(package) == [
        "imsmanifest.xml, resource 'old': QTI 1.x items are not supported; "
        "export them as QTI 2.1 or 3.0."
    ]


def test_not_a_package():
    with pytest.raises(QtiPackageError, match="not a readable zip"):
        qti_package_read(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(QtiPackageError, match=r"no imsmanifest\.xml"):
        qti_package_read(zip_files({"items/q1.xml": choice_item()}))
    with pytest.raises(QtiPackageError, match="lists no QTI items"):
        qti_package_read(zip_files({"imsmanifest.xml": manifest()}))


# --- Hostile packages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (10_000_000, "expands 1[0-9]{3} times: this looks like a zip bomb"),
        (60_000_000, "“items/bomb.xml” is larger than 20 MB"),
    ],
)
def test_a_zip_bomb_entry_is_refused(size, message):
    bomb = zip_files({"imsmanifest.xml": manifest(), "items/bomb.xml": b"\0" * size})
    assert len(bomb) < 100_000
    with pytest.raises(QtiPackageError, match=message):
        qti_package_read(bomb)


def test_a_package_expanding_past_the_total_limit_is_refused(monkeypatch):
    monkeypatch.setattr(qti, "PACKAGE_MAX_UNCOMPRESSED", 50_000)
    files = {f"items/pad{index}.txt": bytes(range(256)) * 100 for index in range(3)}
    with pytest.raises(QtiPackageError, match="expands to more than"):
        qti_package_read(zip_files({"imsmanifest.xml": manifest(), **files}))


def test_a_package_with_too_many_entries_is_refused(monkeypatch):
    monkeypatch.setattr(qti, "PACKAGE_MAX_ENTRIES", 10)
    files = {f"items/{index}.xml": "<x/>" for index in range(11)}
    with pytest.raises(QtiPackageError, match="has 11 files; at most 10"):
        qti_package_read(zip_files(files))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.xml", "climbs out of the package"),
        ("items/../../evil.xml", "climbs out of the package"),
        ("/etc/cron.d/evil", "is absolute"),
        ("C:/Windows/evil.xml", "is absolute"),
        ("items\\..\\..\\evil.xml", "backslash"),
    ],
)
def test_entries_with_traversal_paths_are_refused(name, reason):
    info = zipfile.ZipInfo("placeholder")
    info.filename = name  # ZipInfo() would normalise it; a hostile tool writes it raw
    data = zip_files({"imsmanifest.xml": manifest()}, infos=[(info, b"x")])
    with pytest.raises(QtiPackageError, match=reason):
        qti_package_read(data)


def test_a_symlink_entry_is_refused():
    info = zipfile.ZipInfo("items/link.png")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    data = zip_files({"imsmanifest.xml": manifest()}, infos=[(info, b"/etc/passwd")])
    with pytest.raises(QtiPackageError, match="symbolic link"):
        qti_package_read(data)


@pytest.mark.parametrize(
    "href",
    ["../outside.xml", "http://evil.example/item.xml", "/etc/passwd", "file:///etc/passwd"],
)
def test_manifest_hrefs_outside_the_package_are_refused(href):
    files = {"imsmanifest.xml": manifest(("item3", href))}
    package = qti_package_read(zip_files(files))
    assert package.items == []
    assert messages(package) == [
        f"imsmanifest.xml, resource 'item3': the file “{href}” is outside the package; "
        "nothing is fetched from elsewhere."
    ]


def test_remote_images_are_not_fetched():
    package = read_one(
        choice_item(body_extra='<p><img src="https://evil.example/track.png" alt="x"/></p>')
    )
    assert messages(package) == [
        "items/q1.xml line 8, <img>: the image “https://evil.example/track.png” is outside "
        "the package; images are not fetched from the internet, put the file in the package."
    ]


def test_an_image_path_climbing_out_is_refused():
    package = read_one(choice_item(body_extra='<p><img src="../../../etc/passwd" alt="x"/></p>'))
    assert messages(package) == [
        "items/q1.xml line 8, <img>: the image path “../../../etc/passwd” leaves the package."
    ]


def test_xxe_in_an_item_is_refused_with_a_clear_message():
    item = (
        '<?xml version="1.0"?>\n<!DOCTYPE assessmentItem [\n'
        '  <!ENTITY secret SYSTEM "file:///etc/passwd">\n]>\n'
        + choice_item().split("?>", 1)[1].replace("What is 2 + 2?", "&secret;")
    )
    package = read_one(item)
    assert package.items == []
    assert messages(package) == [
        "items/q1.xml: the XML declares entities or refers to outside resources "
        "(EntitiesForbidden); such files are refused for safety."
    ]


def test_a_billion_laughs_manifest_is_refused():
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
        ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
        "<manifest>&lol3;</manifest>"
    )
    with pytest.raises(QtiPackageError, match="refused for safety"):
        qti_package_read(zip_files({"imsmanifest.xml": laughs}))


def test_scripts_event_handlers_and_styles_are_dropped():
    hostile = (
        '<script>alert(1)</script><p onclick="steal()" style="color:red">Hi'
        '<a href="javascript:alert(2)">link</a><span style="x" onmouseover="y()">there</span></p>'
        '<iframe src="https://evil.example"/><style>p{}</style>'
    )
    package = read_one(choice_item(body_extra=hostile))
    stem = stem_clean(package.items[0].raw["stem"])
    for word in ("script", "alert", "onclick", "steal", "style", "javascript", "iframe", "evil"):
        assert word not in stem
    assert "<p>Hilinkthere</p>" in stem.replace(" ", "")


def test_more_than_one_interaction_is_refused():
    second = '<textEntryInteraction responseIdentifier="RESPONSE"/>'
    package = read_one(choice_item(body_extra=second))
    assert messages(package) == [
        "items/q1.xml line 9, <choiceInteraction>: an item may have only one interaction "
        "(this one is the second)."
    ]


def test_presentation_mathml_becomes_latex_and_loose_text_a_paragraph():
    math = (
        '<div>The equation <math xmlns="http://www.w3.org/1998/Math/MathML"><mrow><mi>E</mi>'
        "<mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></mrow></math> and "
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mfrac><mn>1</mn>'
        '<msqrt><mi>x</mi></msqrt></mfrac><mo>×</mo><mfenced open="{" close="}"><mi>a</mi>'
        "<mi>b</mi></mfenced></math><p>Which is it?</p></div>"
    )
    stem = stem_clean(read_one(choice_item(body_extra=math)).items[0].raw["stem"])
    assert (
        "<p>The equation \\(E=m{c}^{2}\\) and \\[\\frac{1}{\\sqrt{x}}\\times "
        "\\left\\{a,b\\right\\}\\]</p><p>Which is it?</p>" in stem
    )


def test_true_false_in_other_languages():
    item = choice_item(choices=[("r", "Richtig"), ("f", "Falsch")], correct="r")
    raw = read_one(item).items[0].raw
    assert (raw["kind"], raw["correct_key"]) == ("truefalse", "T")
    other = choice_item(choices=[("a", "Right"), ("b", "Left")], correct="a")
    assert read_one(other).items[0].raw["kind"] == "single"


def test_an_entry_whose_header_understates_its_size_is_cut_off():
    """A bomb that lies about its size in the zip headers: reading stops at the declared size and
    the checksum fails, so it never expands."""
    honest = zip_files({"imsmanifest.xml": b"<manifest/>" + b" " * 5_000_000})
    data = bytearray(honest)
    declared = (100).to_bytes(4, "little")
    local = data.index(b"PK\x03\x04")
    data[local + 22 : local + 26] = declared  # uncompressed size in the local header
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = declared  # and in the central directory
    with pytest.raises(QtiPackageError, match="cannot be read"):
        qti_package_read(bytes(data))


def test_a_shared_stimulus_comes_before_the_question(qti30):
    _package, items = qti30
    item = items["q3-river"]
    assert item["correct_key"] == "B"
    triangle = (FIXTURES / "qti30/items/images/triangle.png").read_bytes()
    assert stem_clean(item["stem"]) == (
        "<p><strong>Rivers</strong></p><p>A river starts at its <em>source</em> and ends at its "
        f'<em>mouth</em>.</p><p><img src="{qti.media.image_url(triangle, "png")}" '
        'alt="A river delta"></p><p>Where does a river end?</p>'
    )


def _with_metadata(item_xml: str, metadata: str) -> qti.QtiPackage:
    resource = (
        '<resource identifier="item1" type="imsqti_item_xmlv3p0" href="items/q1.xml">'
        f'<metadata><ds:item xmlns:ds="https://dreamseed.org/xsd/qti-metadata/v1" {metadata}'
        '</metadata><file href="items/q1.xml"/></resource>'
    )
    manifest_xml = (
        '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="M">'
        f"<resources>{resource}</resources></manifest>"
    )
    return qti_package_read(zip_files({"imsmanifest.xml": manifest_xml, "items/q1.xml": item_xml}))


def test_our_metadata_gives_the_exact_id_answer_and_partial_credit_steps():
    """What our QTI export writes (see formats/qti_export.py) comes back exactly: the external
    id the QTI identifier could not hold, the answer object with its scoring rule, GPCM steps."""
    item = """<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
        identifier="Q_7" title="Primes">
      <qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="identifier">
        <qti-correct-response><qti-value>A</qti-value><qti-value>C</qti-value></qti-correct-response>
      </qti-response-declaration>
      <qti-item-body><qti-choice-interaction response-identifier="RESPONSE" max-choices="0">
        <qti-prompt>Which are prime?</qti-prompt>
        <qti-simple-choice identifier="A">2</qti-simple-choice>
        <qti-simple-choice identifier="B">4</qti-simple-choice>
        <qti-simple-choice identifier="C">5</qti-simple-choice>
      </qti-choice-interaction></qti-item-body>
    </qti-assessment-item>"""
    package = _with_metadata(
        item,
        'external-id="Q 7/b" kind="multiple" status="active" subject="Math">'
        '<ds:irt model="GPCM" a="1.1" b="0.25" steps="-0.5 1.0"/>'
        '<ds:answer>{"keys": ["A", "C"], "scoring": "partial"}</ds:answer></ds:item>',
    )
    raw = package.items[0].raw
    assert raw["external_id"] == "Q 7/b"
    assert raw["answer"] == {"keys": ["A", "C"], "scoring": "partial"}
    assert (raw["model"], raw["steps"], raw["status"]) == ("GPCM", ["-0.5", "1.0"], "active")
    values, errors = item_values_clean({**raw, "external_id": "Q7b"})
    assert errors == {}
    assert (values.kind, values.steps, values.b) == ("multiple", (-0.5, 1.0), 0.25)


def test_our_metadata_keeps_a_yes_no_single_choice_single():
    item = choice_item(choices=[("A", "Yes"), ("B", "No")], correct="B")
    assert read_one(item).items[0].raw["kind"] == "truefalse"  # a foreign package: guessed
    raw = _with_metadata(item, 'kind="single"></ds:item>').items[0].raw
    assert (raw["kind"], raw["correct_key"]) == ("single", "B")


def test_choice_identifiers_that_are_keys_stay_keys_in_their_order():
    item = f"""<assessmentItem xmlns="{QTI21_NS}" identifier="o" title="o">
      <responseDeclaration identifier="R" cardinality="ordered" baseType="identifier">
        <correctResponse><value>A</value><value>C</value><value>B</value></correctResponse>
      </responseDeclaration>
      <itemBody><orderInteraction responseIdentifier="R">
        <simpleChoice identifier="C">third</simpleChoice>
        <simpleChoice identifier="A">first</simpleChoice>
        <simpleChoice identifier="B">second</simpleChoice>
      </orderInteraction></itemBody></assessmentItem>"""
    raw = read_one(item).items[0].raw
    assert [option["key"] for option in raw["options"]] == ["C", "A", "B"]
    assert raw["answer"] == {"order": ["A", "C", "B"]}


def test_an_answer_box_on_its_own_line_adds_no_blank():
    item = f"""<assessmentItem xmlns="{QTI21_NS}" identifier="t" title="t">
      <responseDeclaration identifier="R" cardinality="single" baseType="string">
        <correctResponse><value>Paris</value></correctResponse></responseDeclaration>
      <itemBody><p>Capital of France?</p><p><textEntryInteraction responseIdentifier="R"/></p>
      </itemBody></assessmentItem>"""
    assert stem_clean(read_one(item).items[0].raw["stem"]) == "<p>Capital of France?</p>"


def test_an_inline_choice_is_a_single_choice_with_a_blank():
    """After the QTI 2.1 specification's inline_choice.xml ("Richard III (Take 1)")."""
    item = f"""<assessmentItem xmlns="{QTI21_NS}" identifier="inlineChoice" title="Richard III">
      <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
        <correctResponse><value>Y</value></correctResponse></responseDeclaration>
      <itemBody><p>Identify the missing word in this famous quote from Shakespeare's Richard III.</p>
        <blockquote><p>Now is the winter of our discontent<br/> Made glorious summer by this sun of
          <inlineChoiceInteraction responseIdentifier="RESPONSE" shuffle="false">
            <inlineChoice identifier="G">Gloucester</inlineChoice>
            <inlineChoice identifier="L">Lancaster</inlineChoice>
            <inlineChoice identifier="Y">York</inlineChoice>
          </inlineChoiceInteraction>;</p></blockquote></itemBody></assessmentItem>"""
    raw = read_one(item).items[0].raw
    assert (raw["kind"], raw["correct_key"]) == ("single", "Y")  # identifiers that are keys
    assert raw["options"] == [
        {"key": "G", "text": "Gloucester"},
        {"key": "L", "text": "Lancaster"},
        {"key": "Y", "text": "York"},
    ]
    assert "sun of _____;" in stem_clean(raw["stem"])
