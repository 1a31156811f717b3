"""In Chromium: a student whose teacher turned on read aloud hears the question and its answers
(image by its alt text, formula by its LaTeX) in the page's language, starts and stops it by
keyboard; a student without the accommodation, or a browser without speech, has no button.

The init script replaces speechSynthesis.speak to capture the utterances (text, lang, voice)
instead of making sound, as a screen-reader-free way to see what would be said.
"""

import re

import pytest
from playwright.sync_api import expect

from dreamseed.assessments.tests.factories import committed_open_test
from dreamseed.classes.models import StudentProfile
from dreamseed.itembank.models import ItemVersion
from dreamseed.testing import PASSWORD, in_schema

CAPTURE = """
window.__spoken = [];
window.__cancelled = 0;
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (utterance) => window.__spoken.push(
    {text: utterance.text, lang: utterance.lang, voice: utterance.voice ? utterance.voice.lang : null}
  );
  window.speechSynthesis.cancel = () => { window.__cancelled += 1; };
}
"""
NO_SPEECH = """
Object.defineProperty(window, "speechSynthesis", {value: undefined, configurable: true});
window.SpeechSynthesisUtterance = undefined;
"""
IMAGE = "/media/items/" + "ab" * 32 + ".png"


@pytest.fixture
def read_aloud_test(personas, committed_db):
    with committed_open_test(
        personas, students=["alpha_student", "alpha_student2"], class_name="Read aloud class",
        bank_size=12, seed=41, name="Listening quiz", max_items=3, min_items=3,
    ) as assignment:  # fmt: skip
        with in_schema("alpha"):
            # Every question has a picture and a formula, as a young reader's might.
            for version in ItemVersion.objects.filter(item__external_id__startswith="T41-"):
                number = version.item.external_id.split("-")[1].lstrip("0") or "0"
                version.stem = (
                    f'<p>Look at <img src="{IMAGE}" alt="three red apples"> and '
                    f"find $\\frac{{1}}{{2}}$ of {number}.</p>"
                )
                version.save(update_fields=["stem"])
            StudentProfile.objects.update_or_create(
                user_id=personas["alpha_student"].user_id, defaults={"read_aloud": True}
            )
            StudentProfile.objects.update_or_create(
                user_id=personas["alpha_student2"].user_id, defaults={"read_aloud": False}
            )
        try:
            yield assignment
        finally:
            with in_schema("alpha"):
                StudentProfile.objects.filter(user_id=personas["alpha_student"].user_id).update(
                    read_aloud=False
                )


def _start(page, live_server, assignment, username, language="en"):
    if language != "en":
        page.context.add_cookies(
            [
                {
                    "name": "django_language",
                    "value": language,
                    "domain": "alpha.localhost",
                    "path": "/",
                }
            ]
        )
    page.goto(live_server.url("alpha.localhost", "/accounts/login/"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    expect(page).to_have_url(re.compile(r"^http://alpha\.localhost:\d+/$"))
    page.goto(live_server.url("alpha.localhost", f"/tests/take/{assignment.pk}/"))
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_selector("html[data-take-test-ready]", state="attached")


def _spoken(page):
    return page.evaluate("window.__spoken")


def _expected_parts(page):
    number = re.search(r"of (\d+)\.", page.locator(".stem").inner_text()).group(1)
    options = [
        f"{key}. {text}"
        for key, text in zip(
            page.locator(".options .option-key").all_inner_texts(),
            page.locator(".options .option-text").all_inner_texts(),
            strict=True,
        )
    ]
    return [f"Look at three red apples and find \\frac{{1}}{{2}} of {number}.", *options]


@pytest.mark.browser
def test_read_aloud_reads_the_question_and_answers_in_english(live_server, read_aloud_test, page):
    page.add_init_script(CAPTURE)
    _start(page, live_server, read_aloud_test, "sam")
    toggle = page.get_by_role("button", name="Read aloud")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_text("Alt+R (Option+R on a Mac) reads the question aloud")).to_be_visible()
    expect(page.locator(".stem .katex").first).to_be_attached()  # the formula was typeset

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    spoken = _spoken(page)
    assert [part["text"] for part in spoken] == _expected_parts(page)
    assert {part["lang"] for part in spoken} == {"en-US"}
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_visible()
    stop.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(stop).to_be_hidden()
    expect(toggle).to_be_focused()

    # The shortcut starts and stops it from anywhere on the page, without choosing an answer.
    page.locator("#question-heading").focus()
    page.keyboard.press("Alt+r")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert len(_spoken(page)) == 2 * len(spoken)
    assert page.locator("input[name=choice]:checked").count() == 0
    page.keyboard.press("Alt+r")
    expect(toggle).to_have_attribute("aria-pressed", "false")

    # Reading, then answering: the next question stops the old reading.
    page.keyboard.press("Alt+r")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Question 2", exact=True)).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Alt+r")
    assert [part["text"] for part in _spoken(page)[-5:]] == _expected_parts(page)


@pytest.mark.browser
def test_read_aloud_speaks_korean_on_a_korean_page(live_server, read_aloud_test, page):
    page.add_init_script(CAPTURE)
    _start(page, live_server, read_aloud_test, "sam", language="ko")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    toggle = page.locator("[data-read-aloud-toggle]")
    toggle.click()
    spoken = _spoken(page)
    assert [part["text"] for part in spoken] == _expected_parts(page)
    assert {part["lang"] for part in spoken} == {"ko-KR"}
    voices = page.evaluate("speechSynthesis.getVoices().map((voice) => voice.lang)")
    korean = [lang for lang in voices if lang.replace("_", "-").lower().startswith("ko")]
    # The browser's Korean voice when it has one; the language alone otherwise.
    assert {part["voice"] for part in spoken} == {korean[0] if korean else None}


@pytest.mark.browser
def test_no_button_without_the_accommodation_or_without_speech(
    live_server, read_aloud_test, page, browser
):
    page.add_init_script(CAPTURE)
    _start(page, live_server, read_aloud_test, "sara")
    expect(page.get_by_role("heading", name="Question 1", exact=True)).to_be_visible()
    assert page.locator("[data-read-aloud]").count() == 0
    page.keyboard.press("Alt+r")
    assert _spoken(page) == []

    context = browser.new_context()
    try:
        other = context.new_page()
        other.add_init_script(NO_SPEECH)
        _start(other, live_server, read_aloud_test, "sam")
        expect(other.get_by_role("heading", name="Question 1", exact=True)).to_be_visible()
        expect(other.locator("[data-read-aloud]")).to_be_hidden()
        expect(other.get_by_role("button", name="Read aloud")).to_have_count(0)
    finally:
        context.close()
