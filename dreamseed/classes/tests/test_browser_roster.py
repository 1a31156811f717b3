"""In Chromium: a teacher imports a roster with a bad line, fixes it, imports it and prints a
sign-in slip; the student signs in with the slip and joins another class by its code."""

import re

import pytest
from playwright.sync_api import expect

from dreamseed.accounts.models import User
from dreamseed.classes.models import Class
from dreamseed.testing import PASSWORD, in_schema

BAD_ROSTER = (
    "first_name,last_name,username,email,grade\nMina,Kim,pw.mina,,5\nKai,Lee,pw.kai,kai@,5\n"
)
GOOD_ROSTER = BAD_ROSTER.replace("kai@,", "kai@example.org,")
NEW_USERNAMES = ["pw.mina", "pw.kai"]


def _csv(text):
    return {"name": "roster.csv", "mimeType": "text/csv", "buffer": text.encode()}


@pytest.fixture
def teacher_classes(committed_db, personas):
    """Two classes of alpha_teacher, committed so the live server sees them; removed after."""
    from dreamseed.classes.services import class_create

    teacher = personas["alpha_teacher"]
    with in_schema(teacher.schema_name):
        user = User.objects.get(pk=teacher.user_id)
        homeroom = class_create(name="PW Homeroom", grade="5", teachers=[user], created_by=user)
        robotics = class_create(name="PW Robotics", grade="5", teachers=[user], created_by=user)
    yield homeroom, robotics
    with in_schema(teacher.schema_name):
        Class.objects.filter(pk__in=[homeroom.pk, robotics.pk]).delete()
        User.objects.filter(username__in=NEW_USERNAMES).delete()


@pytest.fixture
def student_page(browser):
    """A second browser session (its own cookies) next to the teacher's `page`."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _sign_in(page, url, username, password):
    page.goto(url)
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_import_a_roster_fix_a_bad_line_and_a_student_joins_by_code(
    live_server, teacher_classes, personas, page, student_page
):
    _homeroom, robotics = teacher_classes
    teacher = personas["alpha_teacher"]
    base = live_server.url("alpha.localhost", "")

    _sign_in(page, f"{base}/accounts/login/", teacher.username, PASSWORD)
    page.get_by_role("link", name="Classes").click()
    page.get_by_role("link", name="PW Homeroom").click()
    page.get_by_role("link", name="Import roster (CSV)").click()

    # One bad line: the error names the line and the column, and nothing is imported.
    page.get_by_label("Roster file (CSV)").set_input_files(_csv(BAD_ROSTER))
    page.get_by_role("button", name="Upload and preview").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Nothing was imported")
    expect(problems).to_contain_text("Line 3, column 'email': 'kai@' is not a valid email address.")
    expect(problems).to_be_focused()
    with in_schema(teacher.schema_name):
        assert not User.objects.filter(username__in=NEW_USERNAMES).exists()

    # Fixed: the preview shows what will happen, and confirming imports it.
    page.get_by_label("Roster file (CSV)").set_input_files(_csv(GOOD_ROSTER))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the roster before importing")
    expect(page.get_by_role("row", name=re.compile("pw.kai"))).to_contain_text("New")
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("status")).to_contain_text("2 new students")
    expect(page.get_by_role("cell", name="Kim, Mina")).to_be_visible()
    code = robotics.join_code

    # Print Mina's slip: a new password, shown once.
    page.get_by_role("checkbox", name="Select Mina Kim").check()
    page.get_by_role("button", name="Print sign-in slips for selected").click()
    page.get_by_role("button", name="Create new passwords and show slips").click()
    slip = page.locator(".slip", has_text="Mina Kim")
    expect(slip).to_be_visible()
    password = slip.locator("dd.secret").nth(1).inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", password)

    # The student signs in with the slip (in their own browser session) and joins the robotics
    # class by typing its code.
    student = student_page
    _sign_in(student, f"{base}/accounts/login/", "PW.Mina", password)
    expect(student.get_by_role("heading", level=1)).to_have_text("Hello, Mina!")
    expect(student.get_by_role("heading", name="PW Homeroom")).to_be_visible()
    code_box = student.get_by_label("Class code")
    code_box.fill("WRONG1")
    code_box.press("Enter")  # the keyboard is enough
    expect(student.get_by_text("No class has that code")).to_be_visible()
    expect(student.get_by_label("Class code")).to_be_focused()
    student.get_by_label("Class code").fill(f"{code[:3].lower()} {code[3:].lower()}")
    student.get_by_role("button", name="Join class").click()
    expect(student.get_by_role("status")).to_contain_text("You joined PW Robotics")
    expect(student.get_by_role("heading", name="PW Robotics")).to_be_visible()
