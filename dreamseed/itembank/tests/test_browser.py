"""In Chromium: a teacher writes an item with a formula and sees it rendered in the live preview,
then imports a CSV with a bad line, reads the line's error, fixes the file and imports it."""

import re

import pytest
from playwright.sync_api import expect

from dreamseed.itembank.models import BankRevision, Item, ItemImport, ItemVersion
from dreamseed.testing import PASSWORD, in_schema

BAD_CSV = (
    "external_id,status,content_area,a,b,c,stem,option_a,option_b,option_c,option_d,correct_key\n"
    "PW-1,active,Fractions,1.2,-0.5,0.2,What is $\\frac{1}{2} + \\frac{1}{4}$?,"
    "$\\frac{3}{4}$,$\\frac{2}{6}$,$\\frac{1}{6}$,$\\frac{2}{4}$,A\n"
    "PW-2,active,Algebra,1.1,one,0.2,Solve $x^2 = 9$ for $x > 0$.,3,9,-3,81,A\n"
)
GOOD_CSV = BAD_CSV.replace(",one,", ",0.7,")


def _csv(text):
    return {"name": "items.csv", "mimeType": "text/csv", "buffer": text.encode()}


@pytest.fixture
def clean_bank(committed_db, personas):
    """Whatever the test writes to alpha's bank is removed afterwards."""
    schema = personas["alpha_teacher"].schema_name
    with in_schema(schema):
        before = set(Item.objects.values_list("pk", flat=True))
    yield
    with in_schema(schema):
        new = Item.objects.exclude(pk__in=before)
        new.update(current_version=None)
        ItemVersion.objects.filter(item__in=new).delete()
        new.delete()
        ItemImport.objects.all().delete()
        BankRevision.objects.all().delete()


@pytest.mark.browser
def test_write_an_item_with_a_formula_then_import_a_file_and_fix_its_error(
    live_server, clean_bank, personas, page
):
    teacher = personas["alpha_teacher"]
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(live_server.url(teacher.host, "/accounts/login/"))
    page.get_by_label("Username or email").fill(teacher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Write an item; the live preview shows it as the student will, with the formula typeset.
    page.goto(live_server.url(teacher.host, "/items/new/"))
    page.get_by_label("Question").fill("What is $\\frac{3}{4}$ of 12?")
    page.get_by_label("Option A", exact=True).fill("9")
    page.get_by_label("Option B", exact=True).fill("$\\frac{12}{4}$")
    page.get_by_label("Option C", exact=True).fill("16")
    page.get_by_label("Option A is correct").check()
    preview = page.locator("[data-preview-target]")
    expect(preview.locator(".katex").first).to_be_visible()
    expect(preview.locator(".stem")).to_contain_text("of 12?")
    expect(preview.locator("input[type=radio]")).to_have_count(3)
    expect(preview).not_to_contain_text("$\\frac")  # typeset, not raw LaTeX
    page.get_by_label("Content area").fill("Fractions")
    page.get_by_role("button", name="Create item").click()

    expect(page.get_by_role("status")).to_contain_text("was created")
    expect(page.locator(".item-view .katex").first).to_be_visible()
    expect(page.locator(".answer-key")).to_contain_text("A")

    # Import a file with a bad difficulty on line 3: the error names the line and the column.
    page.goto(live_server.url(teacher.host, "/items/import/"))
    page.get_by_label("Item file").set_input_files(_csv(BAD_CSV))
    page.get_by_role("button", name="Upload and preview").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Nothing was imported")
    expect(problems).to_contain_text("Line 3, column 'b': “one” is not a number.")
    with in_schema(teacher.schema_name):
        assert not Item.objects.filter(external_id__startswith="PW-").exists()

    # Fixed, it previews and imports.
    page.get_by_label("Item file").set_input_files(_csv(GOOD_CSV))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page).to_have_url(re.compile(r"/items/import/[0-9a-f-]{36}/$"))
    expect(page.locator(".stats")).to_contain_text("2")
    expect(page.locator("tbody .katex").first).to_be_visible()
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("status")).to_contain_text("Import done: 2 new items")
    page.get_by_label("Search").fill("PW-")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    with in_schema(teacher.schema_name):
        assert Item.objects.get(external_id="PW-2").b == 0.7
    assert not [text for text in messages if "Content Security Policy" in text], messages
