"""In Chromium: a teacher picks a question type in the editor, sees only that type's fields, and
the live preview follows as a student would see the item, with the answer in words."""

import pytest
from playwright.sync_api import expect

from dreamseed.itembank.models import Item
from dreamseed.itembank.tests.test_browser import clean_bank  # noqa: F401 (fixture)
from dreamseed.testing import PASSWORD, in_schema


@pytest.mark.browser
def test_switching_the_type_shows_its_fields_and_the_preview_follows(
    live_server,
    clean_bank,  # noqa: F811
    personas,
    page,
):
    teacher = personas["alpha_teacher"]
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(live_server.url(teacher.host, "/accounts/login/"))
    page.get_by_label("Username or email").fill(teacher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url(teacher.host, "/items/new/"))

    options = page.get_by_role("group", name="Options")
    numeric = page.get_by_role("group", name="Numeric entry: the answer")
    expect(options).to_be_visible()
    expect(numeric).to_be_hidden()
    preview = page.locator("[data-preview-target]")

    page.get_by_label("Item type").select_option(label="Numeric entry")
    expect(options).to_be_hidden()
    expect(numeric).to_be_visible()
    expect(page.get_by_role("group", name="True or false: the statement is")).to_be_hidden()
    page.get_by_label("Question", exact=True).fill("How long is the rod, in cm?")
    page.get_by_label("Correct number").fill("3,5")
    page.get_by_label("Tolerance (±)").fill("0.1")
    page.get_by_label("Accepted units").fill("cm; centimetres")
    student_box = preview.get_by_label("Your answer (a number)")
    expect(student_box).to_be_visible()
    expect(preview).to_contain_text("(cm, centimetres)")
    expect(preview.locator(".answer-key")).to_contain_text(
        "Correct answer: 3.5 ± 0.1 cm / centimetres (unit optional)"
    )
    page.get_by_label("The answer must include a unit").check()
    expect(preview.locator(".answer-key")).to_have_text(
        "Numeric entry Correct answer: 3.5 ± 0.1 cm / centimetres"
    )
    student_box.fill("3.4 cm")  # the preview answers like the take page, outside the editor

    # Another type and back: what was typed is kept, and the preview follows each time.
    page.get_by_label("Item type").select_option(label="True or false")
    expect(preview.get_by_label("True")).to_be_visible()
    expect(preview.locator(".answer-key")).to_contain_text("not complete yet")
    page.get_by_label("Item type").select_option(label="Numeric entry")
    expect(page.get_by_label("Correct number")).to_have_value("3,5")
    expect(preview.locator(".answer-key")).to_contain_text("3.5 ± 0.1 cm / centimetres")

    page.get_by_label("Status").select_option(label="Pilot")
    page.get_by_label("Difficulty b").fill("")
    page.get_by_label("Guessing c").fill("0")
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_role("status")).to_contain_text("was created")
    expect(page.locator(".answer-key")).to_have_text(
        "Numeric entry Correct answer: 3.5 ± 0.1 cm / centimetres"
    )
    with in_schema(teacher.schema_name):
        version = Item.objects.get(status="pilot").current_version
        assert (version.kind, version.options) == ("numeric", [])
        assert version.answer == {
            "value": 3.5, "tolerance": 0.1, "units": ["cm", "centimetres"], "unit_required": True,
        }  # fmt: skip
    assert not [text for text in messages if "Content Security Policy" in text], messages
