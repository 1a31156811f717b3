"""In Chromium, by keyboard: a teacher puts an image into a question, is held to alt text, and sees
it in the live preview; a file that is not an image is refused with the reason."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from dreamseed.itembank.models import BankRevision, Item, ItemVersion
from dreamseed.testing import PASSWORD, in_schema


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def clean_bank(committed_db, personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    schema = personas["alpha_teacher"].schema_name
    with in_schema(schema):
        before = set(Item.objects.values_list("pk", flat=True))
    yield tmp_path
    with in_schema(schema):
        new = Item.objects.exclude(pk__in=before)
        new.update(current_version=None)
        ItemVersion.objects.filter(item__in=new).delete()
        new.delete()
        BankRevision.objects.all().delete()


@pytest.mark.browser
def test_insert_an_image_with_alt_text_by_keyboard(live_server, clean_bank, personas, page):
    teacher = personas["alpha_teacher"]
    page.goto(live_server.url(teacher.host, "/accounts/login/"))
    page.get_by_label("Username or email").fill(teacher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url(teacher.host, "/items/new/"))

    stem = page.get_by_label("Question")
    stem.fill("Which colour is this square? ")
    stem.press("End")
    page.keyboard.press("Tab")  # the stem's own "Insert image"
    toggle = page.get_by_role("button", name="Insert image into Question")
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    panel = page.locator(f"#{toggle.get_attribute('aria-controls')}")
    file_input = panel.get_by_label("Image (PNG, JPEG, GIF or WebP, up to 2 MB)")
    expect(file_input).to_be_focused()
    insert = panel.get_by_role("button", name="Insert", exact=True)

    # Not an image: the server's reason is shown and nothing can be inserted.
    file_input.set_input_files(
        {"name": "notes.svg", "mimeType": "image/svg+xml", "buffer": b"<svg></svg>"}
    )
    expect(panel.get_by_role("status")).to_have_text(
        "notes.svg is an SVG drawing, which can carry scripts: use PNG or JPEG."
    )
    expect(insert).to_be_disabled()

    # An image: uploaded, then the alt text field takes focus; Insert waits for the alt text.
    file_input.set_input_files({"name": "square.png", "mimeType": "image/png", "buffer": _png()})
    alt = panel.get_by_label("Alt text (required): what the image shows")
    expect(panel.get_by_role("status")).to_contain_text("Uploaded")
    expect(alt).to_be_focused()
    expect(insert).to_be_disabled()
    alt.press_sequentially("   ")
    expect(insert).to_be_disabled()
    alt.fill("A red square")
    expect(insert).to_be_enabled()
    alt.press("Enter")  # inserts; does not submit the item form

    expect(stem).to_be_focused()
    expect(stem).to_have_value(
        re.compile(
            r'^Which colour is this square\? <img src="/media/items/[0-9a-f]{64}\.png" '
            r'alt="A red square">$'
        )
    )
    expect(panel).to_be_hidden()
    preview_image = page.locator("[data-preview-target] .stem img")
    expect(preview_image).to_have_attribute("alt", "A red square")
    page.wait_for_function(
        "() => document.querySelector('[data-preview-target] .stem img')?.naturalWidth === 40"
    )
    assert len(list(clean_bank.rglob("*.png"))) == 1

    page.get_by_label("Option A", exact=True).fill("Red")
    page.get_by_label("Option B", exact=True).fill("Blue")
    page.get_by_label("Option A is correct").check()
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_role("status")).to_contain_text("was created")
    expect(page.get_by_role("img", name="A red square")).to_be_visible()
