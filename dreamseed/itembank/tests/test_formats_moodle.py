"""The Moodle XML and GIFT readers on hand-written files: each question type, categories, ids,
text formats, images, our IRT tags, and hostile XML."""

import time
from pathlib import Path

import pytest

from dreamseed.itembank.formats import gift, moodlexml
from dreamseed.itembank.formats.moodle import ForeignFileError, NameIds, category_content_area

FIXTURES = Path(__file__).parent / "fixtures"


def _by_id(found):
    return {question.raw["external_id"]: question for question in found.questions}


def _xml(*questions: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "\n".join(questions) + "\n</quiz>\n"


def _question(qtype: str, body: str, name: str = "Q") -> str:
    return (
        f'<question type="{qtype}"><name><text>{name}</text></name>'
        f'<questiontext format="html"><text>Question?</text></questiontext>{body}</question>'
    )


# --- Moodle XML ------------------------------------------------------------------------------


@pytest.fixture
def all_types():
    return moodlexml.read((FIXTURES / "moodle_all_types.xml").read_text())


def test_moodle_xml_reads_each_question_type(all_types):
    assert not all_types.problems
    questions = _by_id(all_types)
    assert [q.raw["kind"] for q in all_types.questions] == [
        "single", "multiple", "truefalse", "numeric", "text", "extended",
    ]  # fmt: skip
    france = questions["GEO-FR-1"].raw
    assert france["options"] == [
        {"key": "A", "text": "Paris"},
        {"key": "B", "text": "Lyon"},
        {"key": "C", "text": "Marseille"},
    ]
    assert france["correct_key"] == "A"
    rivers = questions["Rivers-of-France"].raw
    assert rivers["answer"] == {"keys": ["A", "B"]}  # the Danube's -100% is a wrong answer
    assert questions["Water-boils"].raw["correct_key"] == "T"
    assert questions["Pencil-length"].raw["answer"] == {
        "value": 17.5,
        "tolerance": 0.25,
        "units": ["cm", "centimetres"],
        "unit_required": False,
    }
    # Only full-mark answers are accepted; the wildcard is kept for the matcher.
    assert questions["Newton-s-first-name"].raw["answer"] == {
        "accepted": ["Isaac", "Sir Isaac*"],
        "case_sensitive": True,
    }
    assert questions["Explain-gravity"].raw["answer"] == {}


def test_moodle_xml_categories_become_content_areas(all_types):
    areas = [q.raw["content_area"] for q in all_types.questions]
    assert areas == ["Geography", "Geography", "Physics", "Physics", "Physics", "Physics"]


def test_moodle_xml_text_formats_become_html(all_types):
    questions = _by_id(all_types)
    assert questions["Water-boils"].raw["stem"] == (
        "At sea level, water boils at 100 °C (and 5 &lt; 7)."
    )
    assert "<strong>centimetres</strong>" in questions["Pencil-length"].raw["stem"]
    assert "Choose all that apply." in questions["Rivers-of-France"].raw["stem"]


def test_moodle_xml_keeps_question_lines_and_numbers(all_types):
    lines = [(q.number, q.line) for q in all_types.questions]
    assert lines[0] == (1, 14)
    assert [number for number, _line in lines] == [1, 2, 3, 4, 5, 6]


def test_a_foreign_item_without_our_parameters_has_no_status_or_parameters(all_types):
    raw = _by_id(all_types)["GEO-FR-1"].raw
    assert not {"status", "a", "b", "c", "d", "model"} & set(raw)


def test_moodle_xml_reads_back_dreamseed_tags():
    found = moodlexml.read(
        _xml(
            _question(
                "truefalse",
                '<answer fraction="0"><text>true</text></answer>'
                '<answer fraction="100"><text>false</text></answer>'
                "<idnumber>TF-9</idnumber><tags>"
                "<tag><text>dreamseed:status=active</text></tag>"
                "<tag><text>dreamseed:model=2PL</text></tag>"
                "<tag><text>dreamseed:a=1.25</text></tag>"
                "<tag><text>dreamseed:b=-0.5</text></tag>"
                "<tag><text>dreamseed:c=0.0</text></tag>"
                "<tag><text>dreamseed:se_b=0.12</text></tag>"
                "<tag><text>dreamseed:grade=7</text></tag>"
                "<tag><text>dreamseed:standard=7.EE.1</text></tag>"
                "<tag><text>dreamseed:standard=7.EE.2</text></tag>"
                "<tag><text>physics</text></tag></tags>",
            )
        )
    )
    raw = found.questions[0].raw
    assert raw["external_id"] == "TF-9" and raw["correct_key"] == "F"
    assert {key: raw[key] for key in ("status", "model", "a", "b", "c", "se_b", "grade")} == {
        "status": "active",
        "model": "2PL",
        "a": "1.25",
        "b": "-0.5",
        "c": "0.0",
        "se_b": "0.12",
        "grade": "7",
    }
    assert raw["standards"] == ["7.EE.1", "7.EE.2"]


def test_question_names_become_stable_unique_ids():
    text = _xml(
        _question("essay", "", name="Week 1: fractions"),
        _question("essay", "", name="Week 1: fractions"),
        _question("essay", "<idnumber>Week-1-fractions-3</idnumber>", name="x"),
        _question("essay", "", name="수학 문제"),
    )
    first = [q.raw["external_id"] for q in moodlexml.read(text).questions]
    assert first == ["Week-1-fractions", "Week-1-fractions-2", "Week-1-fractions-3", ""]
    assert [q.raw["external_id"] for q in moodlexml.read(text).questions] == first


def test_name_ids_fit_the_id_rules():
    ids = NameIds()
    assert ids.from_name("Café crème (été)") == "Cafe-creme-ete"
    assert ids.from_name("  --- ") == ""
    assert len(ids.from_name("x" * 300)) <= 64


def test_category_paths():
    assert category_content_area("$course$/top/Algebra/Linear") == "Linear"
    assert category_content_area("$course$/top") == ""
    assert category_content_area("$system$/top/Fractions") == "Fractions"
    assert category_content_area("$course$/top/Input//Output") == "Input/Output"
    assert category_content_area("Old style") == "Old style"
    assert category_content_area("$course$/top/Default for Year 7") == ""


@pytest.mark.parametrize(
    "qtype, label",
    [
        ("matching", "matching"),
        ("multianswer", "embedded answers (cloze)"),
        ("cloze", "embedded answers (cloze)"),
        ("calculated", "calculated"),
        ("ddwtos", "drag and drop into text"),
        ("description", "description"),
        ("somethingnew", "somethingnew"),
    ],
)
def test_unsupported_moodle_types_are_named_with_their_question_and_line(qtype, label):
    ok = _question("essay", "", name="fine")
    found = moodlexml.read(_xml(ok, _question(qtype, "", name="bad")))
    (problem,) = found.problems
    assert (problem.number, problem.line) == (2, 4)
    assert label in problem.message


def test_every_problem_in_a_moodle_file_is_listed():
    single_two_right = _question(
        "multichoice",
        "<single>true</single>"
        '<answer fraction="100"><text>a</text></answer>'
        '<answer fraction="100"><text>b</text></answer>',
    )
    numeric_text = _question(
        "numerical", '<answer fraction="100"><text>three</text><tolerance>0</tolerance></answer>'
    )
    unit_multiplier = _question(
        "numerical",
        '<answer fraction="100"><text>3</text></answer>'
        "<units><unit><multiplier>1</multiplier><unit_name>m</unit_name></unit>"
        "<unit><multiplier>100</multiplier><unit_name>cm</unit_name></unit></units>",
    )
    short_none = _question("shortanswer", '<answer fraction="50"><text>x</text></answer>')
    truefalse_none = _question("truefalse", '<answer fraction="0"><text>true</text></answer>')
    found = moodlexml.read(
        _xml(single_two_right, numeric_text, unit_multiplier, short_none, truefalse_none)
    )
    assert [p.number for p in found.problems] == [1, 2, 3, 4, 5]
    messages = " ".join(p.message for p in found.problems)
    assert "exactly one answer worth 100%" in messages
    assert "“three” is not a number" in messages
    assert "multiplier of 100" in messages
    assert "short-answer question needs" in messages
    assert "true/false question needs" in messages


def test_units_are_required_when_moodle_grades_them():
    found = moodlexml.read(
        _xml(
            _question(
                "numerical",
                '<answer fraction="100"><text>9.81</text><tolerance>0.01</tolerance></answer>'
                "<units><unit><multiplier>1</multiplier><unit_name>m/s2</unit_name></unit>"
                "</units><unitgradingtype>1</unitgradingtype><showunits>0</showunits>",
            )
        )
    )
    assert found.questions[0].raw["answer"]["unit_required"] is True


def test_a_moodle_image_becomes_a_stored_asset(all_types):
    stem = _by_id(all_types)["GEO-FR-1"].raw["stem"]
    ((url, (data, ext)),) = all_types.assets.items()
    assert ext == "png" and data.startswith(b"\x89PNG")
    assert f'src="{url}"' in stem and url.startswith("/media/items/")
    assert "@@PLUGINFILE@@" not in stem


def test_a_missing_or_broken_image_is_a_problem():
    missing = _question("essay", "", name="a").replace(
        "Question?", '&lt;img src="@@PLUGINFILE@@/nowhere.png" alt="x"&gt;'
    )
    not_image = (
        '<question type="essay"><name><text>b</text></name><questiontext format="html">'
        '<text>&lt;img src="@@PLUGINFILE@@/evil.png" alt="x"&gt;</text>'
        '<file name="evil.png" encoding="base64">PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==</file>'
        "</questiontext></question>"
    )
    found = moodlexml.read(_xml(missing, not_image))
    assert [p.number for p in found.problems] == [1, 2]
    assert "nowhere.png" in found.problems[0].message
    assert "evil.png" in found.problems[1].message
    assert not found.assets


# --- Hostile XML -------------------------------------------------------------------------------


XXE = """<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>x</text></name>
<questiontext><text>&secret;</text></questiontext></question></quiz>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<quiz>&lol4;</quiz>"""


@pytest.mark.parametrize("text", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_document_types_and_entities_are_refused(text):
    with pytest.raises(ForeignFileError, match="document type or entities"):
        moodlexml.read(text)


def test_a_script_in_question_text_is_left_for_the_sanitiser():
    # The reader passes HTML through; validation's sanitiser strips it (checked end to end).
    from dreamseed.itembank.sanitize import stem_clean

    found = moodlexml.read(
        _xml(_question("essay", "").replace("Question?", "&lt;script&gt;alert(1)&lt;/script&gt;Hi"))
    )
    assert stem_clean(found.questions[0].raw["stem"]) == "<p>Hi</p>"


def test_deep_nesting_is_refused():
    with pytest.raises(ForeignFileError, match="nested more than"):
        moodlexml.read("<quiz>" + "<a>" * 1000 + "</a>" * 1000 + "</quiz>")


def test_too_many_elements_are_refused(monkeypatch):
    monkeypatch.setattr(moodlexml, "MAX_ELEMENTS", 1000)
    with pytest.raises(ForeignFileError, match="more than 1,000 elements"):
        moodlexml.read("<quiz>" + "<x/>" * 1001 + "</quiz>")


def test_a_huge_file_is_read_question_by_question_quickly():
    question = _question(
        "multichoice",
        "<single>true</single>"
        + "".join(
            f'<answer fraction="{100 if i == 0 else 0}"><text>{i}</text></answer>' for i in range(4)
        ),
    )
    started = time.perf_counter()
    found = moodlexml.read(_xml(*[question] * 20_000))
    assert len(found.questions) == 20_000 and not found.problems
    assert time.perf_counter() - started < 30  # a sanity bound; numbers are in bench/


@pytest.mark.parametrize(
    "text, message",
    [
        ("<quiz><question>", "cannot be read"),
        ("<html><body/></html>", "not a Moodle XML question file"),
        ("<quiz></quiz>", "no questions"),
        ("<quiz><question type='essay'>&nbsp;</question></quiz>", "cannot be read"),
    ],
)
def test_broken_moodle_files_are_refused_with_a_message(text, message):
    with pytest.raises(ForeignFileError, match=message):
        moodlexml.read(text)


def test_moodle_xml_sniffing():
    assert moodlexml.looks_like_moodle_xml('<?xml version="1.0"?>\n<!-- x -->\n<quiz>\n</quiz>')
    assert moodlexml.looks_like_moodle_xml("\ufeff<quiz>")
    assert not moodlexml.looks_like_moodle_xml("<assessmentItem/>")
    assert not moodlexml.looks_like_moodle_xml("<quizzes/>")


# --- GIFT --------------------------------------------------------------------------------------


@pytest.fixture
def docs_examples():
    return gift.read((FIXTURES / "gift_docs_examples.txt").read_text())


def test_gift_reads_the_documented_examples(docs_examples):
    assert not docs_examples.problems
    questions = _by_id(docs_examples)
    assert questions["Q1"].raw["kind"] == "truefalse" and questions["Q1"].raw["correct_key"] == "T"
    q2 = questions["Q2"].raw
    assert q2["kind"] == "single" and q2["correct_key"] == "A"
    assert [o["text"] for o in q2["options"]] == ["yellow", "red", "blue"]  # feedback dropped
    assert questions["Q3"].raw["answer"] == {"accepted": ["two", "2"], "case_sensitive": False}
    assert questions["Q3"].raw["stem"] == "Two plus _____ equals four."
    numeric = {"units": [], "unit_required": False}
    assert questions["Q5"].raw["answer"] == {"value": 3.0, "tolerance": 2.0, **numeric}
    assert questions["Q6"].raw["answer"] == {"value": 3.0, "tolerance": 2.0, **numeric}
    assert questions["Q7"].raw["answer"] == {"value": 1822.0, "tolerance": 0.0, **numeric}
    assert questions["Q8"].raw["kind"] == "extended"


def test_gift_missing_word_multiline_and_weights(docs_examples):
    unnamed = [q.raw for q in docs_examples.questions if not q.raw["external_id"]]
    grant, thanksgiving, two_people, new_york = unnamed
    assert grant["stem"] == "Grant is _____ in Grant's tomb." and grant["correct_key"] == "B"
    assert (
        thanksgiving["stem"]
        == "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    )
    assert thanksgiving["correct_key"] == "C"
    assert two_people["kind"] == "multiple" and two_people["answer"] == {"keys": ["B", "C"]}
    assert new_york["kind"] == "truefalse" and new_york["correct_key"] == "T"
    assert {q["content_area"] for q in unnamed} == {"US presidents"}


def test_gift_escapes_formats_ids_and_tags(docs_examples):
    questions = _by_id(docs_examples)
    colon = questions["Colon-escape"].raw
    assert colon["stem"] == "Which is the ratio 1:2?"
    water = questions["CHEM-7"].raw
    assert water["stem"] == "<p>What is H<sub>2</sub>O?</p>"
    assert water["options"] == [
        {"key": "A", "text": "water"},
        {"key": "B", "text": "<em>salt</em>"},
    ]
    assert (water["b"], water["status"]) == ("-0.4", "active")
    markdown = questions["Markdown"].raw
    assert "<strong>bold</strong>" in markdown["stem"]
    assert [o["text"] for o in markdown["options"]] == ["this", "that"]


def test_gift_lists_every_problem_with_its_line():
    found = gift.read((FIXTURES / "gift_refused.txt").read_text())
    assert [(p.line, p.number) for p in found.problems] == [(4, 1), (8, 3), (10, 4), (12, 5)]
    messages = [p.message for p in found.problems]
    assert "Matching" in messages[0]
    assert "description" in messages[1]
    assert "exactly one right answer" in messages[2]
    assert "braces do not match" in messages[3]
    assert [q.raw["external_id"] for q in found.questions] == ["Ok"]
    assert "content_area" not in found.questions[0].raw  # no category: an update keeps its own


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        ("Sky is blue {TRUE}", "truefalse", "T"),
        ("Sky is green {F#It is blue#Right}", "truefalse", "F"),
        ("Pi? {#3.14159:0.0005}", "numeric", 3.14159),
        ("Between {#-3..-1}", "numeric", -2.0),
        (r"Escape \{ and \} and \= and \~ and \# {=ok ~no}", "single", "A"),
    ],
)
def test_gift_answer_blocks(text, kind, expected):
    (question,) = gift.read(text).questions
    assert question.raw["kind"] == kind
    if kind == "numeric":
        assert question.raw["answer"]["value"] == pytest.approx(expected)
    else:
        assert question.raw["correct_key"] == expected
    if "Escape" in text:
        assert question.raw["stem"] == "Escape { and } and = and ~ and #"


@pytest.mark.parametrize(
    "text, message",
    [
        ("Two blocks {=a ~b} and {=c ~d}", "one answer block"),
        ("Number? {#three}", "not a numerical answer"),
        ("Only one {~a}", "at least two answers"),
        ("None right {~a ~b}", "No answer is marked right"),
        ("$CATEGORY: top/x\nQ? {=a ~b}", "blank line"),
    ],
)
def test_gift_problems(text, message):
    found = gift.read(text)
    assert message in found.problems[0].message and found.problems[0].line == 1


def test_an_empty_gift_file_is_refused():
    with pytest.raises(ForeignFileError):
        gift.read("// only a comment\n\n")


def test_gift_sniffing():
    assert gift.starts_with_format("[html]<p>What?</p>{=a ~b}")
    assert not gift.starts_with_format('[{"external_id": "Q1"}]')
    assert gift.looks_like_gift("::Q1:: 1+1=2 {T}")
    assert gift.looks_like_gift("// comment\nWhat? {=a ~b}")
    assert not gift.looks_like_gift("external_id,stem,option_a\nQ1,What {x},a")
    assert not gift.looks_like_gift("stem,option_a,option_b,correct_key\nHi,a,b,A")


def test_moodle_ordering_questions_keep_the_right_order():
    found = moodlexml.read(
        _xml(
            _question(
                "ordering",
                "<layouttype>VERTICAL</layouttype><gradingtype>ALL_OR_NOTHING</gradingtype>"
                '<answer fraction="2" format="html"><text>Second</text></answer>'
                '<answer fraction="1" format="html"><text>First</text></answer>'
                '<answer fraction="3" format="html"><text>Third</text></answer>',
            )
        )
    )
    raw = found.questions[0].raw
    assert raw["kind"] == "ordering"
    assert [o["text"] for o in raw["options"]] == ["Second", "First", "Third"]
    assert raw["answer"] == {"order": ["B", "A", "C"]}


def test_an_ordering_question_from_our_export_gets_its_keys_back():
    answers = "".join(
        f'<answer fraction="{n}" format="html"><text>{text}</text></answer>'
        for n, text in enumerate(["gamma", "alpha", "beta"], start=1)
    )
    tags = "<tags><tag><text>dreamseed:order=C,A,B</text></tag></tags>"
    found = moodlexml.read(_xml(_question("ordering", answers + tags)))
    raw = found.questions[0].raw
    assert raw["options"] == [
        {"key": "A", "text": "alpha"},
        {"key": "B", "text": "beta"},
        {"key": "C", "text": "gamma"},
    ]
    assert raw["answer"] == {"order": ["C", "A", "B"]}
    bad = tags.replace("C,A,B", "C,A")  # does not fit: keys assigned in file order
    raw = moodlexml.read(_xml(_question("ordering", answers + bad))).questions[0].raw
    assert raw["answer"] == {"order": ["A", "B", "C"]}


def test_garbage_never_crashes_the_readers_or_the_validation():
    """Seeded fuzzing: whatever a file holds, the answer is a problem list or a file error
    (never an exception, which would be a 500 on the upload page)."""
    import random

    from dreamseed.itembank.validation import item_values_clean

    rng = random.Random(23)
    pieces = [*"{}=~#:%\\/\n ab1.-", "[html]", "[markdown]", "::", "->", "..", "\\{", "\\n",
              "$CATEGORY:", "####", "%50%", "%-100%", "TRUE", "T", "F"]  # fmt: skip
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60))) for _ in range(2000)]
    base = (FIXTURES / "moodle_all_types.xml").read_text()
    mutated = []
    for _ in range(300):
        chars = list(base)
        for _ in range(rng.randrange(1, 6)):
            position = rng.randrange(len(chars))
            chars.insert(position, rng.choice('<>/"=&;x1-%@ 0.'))
        mutated.append("".join(chars))
    for read, inputs in ((gift.read, texts), (moodlexml.read, mutated)):
        for text in inputs:
            try:
                found = read(text)
            except ForeignFileError:
                continue
            for question in found.questions:
                item_values_clean(question.raw)
