"""The new-test form: presets that fill the fields, the advanced IRT settings folded away, and the
item pool checked before saving (an empty or too small pool asks for "Save anyway")."""

import re

from dreamseed.assessments.models import Assessment
from dreamseed.assessments.pools import pool_items_query
from dreamseed.assessments.tests.test_blueprints import VALID
from dreamseed.testing import in_schema


def _input_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def test_the_placement_preset_fills_the_length_and_precision(client_for, alpha_teacher, world):
    response = client_for(alpha_teacher).get("/tests/new/?preset=placement")
    assert response.status_code == 200
    html = response.text
    assert (_input_value(html, "min_items"), _input_value(html, "max_items")) == ("15", "20")
    assert _input_value(html, "se_target") == "0.3"
    assert 'aria-current="true">Placement, 15–20 items</a>' in html


def test_the_quick_check_preset_is_a_fixed_length_of_ten(client_for, alpha_teacher, world):
    html = client_for(alpha_teacher).get("/tests/new/?preset=quick_check").text
    assert (_input_value(html, "min_items"), _input_value(html, "max_items")) == ("10", "10")
    assert _input_value(html, "se_target") == ""


def test_an_unknown_preset_leaves_the_defaults(client_for, alpha_teacher, world):
    html = client_for(alpha_teacher).get("/tests/new/?preset=nonsense").text
    assert (_input_value(html, "min_items"), _input_value(html, "max_items")) == ("5", "20")
    assert 'aria-current="true"' not in html.split('<form method="post"')[0].split("presets")[-1]


def test_advanced_settings_are_folded_unless_one_of_them_is_wrong(client_for, alpha_teacher, world):
    client = client_for(alpha_teacher)
    html = client.get("/tests/new/").text
    basic, advanced = html.split('<details class="advanced-settings"')
    assert 'name="max_items"' in basic and 'name="se_target"' not in basic
    assert 'name="se_target"' in advanced and 'name="scale_slope"' in advanced
    assert advanced.startswith(">")  # closed
    response = client.post("/tests/new/", {**VALID, "se_target": 5})
    assert response.status_code == 400
    assert '<details class="advanced-settings" open>' in response.text


def test_the_form_shows_how_many_items_the_pool_matches(client_for, alpha_teacher, world):
    with in_schema(world.school.schema_name):
        expected = pool_items_query(Assessment()).count()
    response = client_for(alpha_teacher).get("/tests/new/")
    assert expected > 0 and response.context["pool_size"] == expected
    assert f"{expected} active items match these settings." in response.text


def test_an_empty_pool_is_reported_before_saving_and_saved_only_when_confirmed(
    client_for, alpha_teacher, world
):
    client = client_for(alpha_teacher)
    data = {**VALID, "subject": "History"}  # the bank has no history items
    response = client.post("/tests/new/", data)
    assert response.status_code == 200
    assert "No active items match these settings" in response.text
    assert 'name="confirm_pool"' in response.text
    with in_schema(world.school.schema_name):
        assert not Assessment.objects.filter(name=VALID["name"]).exists()
    response = client.post("/tests/new/", {**data, "confirm_pool": "1"})
    assert response.status_code == 302
    with in_schema(world.school.schema_name):
        assert Assessment.objects.get(name=VALID["name"]).subject == "History"


def test_a_pool_smaller_than_the_minimum_length_is_reported(client_for, alpha_teacher, world):
    client = client_for(alpha_teacher)
    response = client.post("/tests/new/", {**VALID, "min_items": 150, "max_items": 150})
    assert response.status_code == 200
    assert "fewer than the minimum of 150 questions" in response.text
    with in_schema(world.school.schema_name):
        assert not Assessment.objects.filter(name=VALID["name"]).exists()


def test_editing_into_an_empty_pool_asks_first(client_for, alpha_teacher, world):
    client = client_for(alpha_teacher)
    url = f"/tests/{world.assessment.pk}/edit/"
    response = client.post(url, {**VALID, "subject": "History"})
    assert response.status_code == 200 and 'name="confirm_pool"' in response.text
    with in_schema(world.school.schema_name):
        world.assessment.refresh_from_db()
        assert world.assessment.subject != "History"
    assert client.post(url, {**VALID, "subject": "History", "confirm_pool": "1"}).status_code == 302


def test_the_pool_count_is_the_schools_own(client_for, alpha_teacher, beta_teacher, world):
    assert client_for(alpha_teacher).get("/tests/new/").context["pool_size"] > 0
    response = client_for(beta_teacher).get("/tests/new/?preset=placement")
    assert response.status_code == 200 and response.context["pool_size"] == 0  # beta has no bank


def test_students_cannot_open_the_form_with_a_preset(client_for, alpha_student, world):
    assert client_for(alpha_student).get("/tests/new/?preset=placement").status_code == 403
