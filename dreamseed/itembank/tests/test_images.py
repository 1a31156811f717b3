"""Images in items: the editor's upload, and alt text required whichever way an item arrives."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from dreamseed.itembank import media
from dreamseed.itembank.models import Item
from dreamseed.itembank.tests.conftest import item_form_data
from dreamseed.itembank.validation import item_values_clean
from dreamseed.testing import in_schema

STORED = "/media/items/" + "cd" * 32 + ".png"
STEM_MESSAGE = (
    "The image in the question needs alt text describing it for students who cannot see it."
)
OPTION_B_MESSAGE = (
    "The image in option B needs alt text describing it for students who cannot see it."
)


def _png(color="blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 4), color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(client, data: bytes, name="diagram.png"):
    return client.post("/items/images/", {"image": SimpleUploadedFile(name, data, "image/png")})


# --- Alt text is required ------------------------------------------------------------------------


def _raw(**overrides):
    raw = {"stem": "Which shape?", "options": ["A circle", "A square"], "correct_key": "A"}
    raw.update(overrides)
    return raw


@pytest.mark.parametrize("alt", ['alt=""', "", 'alt="   "'])
def test_an_image_without_alt_text_is_an_error_at_its_field(alt):
    values, errors = item_values_clean(_raw(stem=f'Which shape? <img src="{STORED}" {alt}>'))
    assert values is None and errors == {"stem": [STEM_MESSAGE]}
    values, errors = item_values_clean(
        _raw(options=["A circle", f'<img src="{STORED}" {alt}>', "A line"])
    )
    assert values is None and errors == {"option_b": [OPTION_B_MESSAGE]}
    values, errors = item_values_clean(
        {**item_form_data(), "option_b": f'<img src="{STORED}" {alt}>'}
    )
    assert values is None and errors == {"option_b": [OPTION_B_MESSAGE]}


def test_images_with_alt_text_are_kept():
    values, errors = item_values_clean(
        _raw(
            stem=f'Which shape? <img src="{STORED}" alt="A red circle">',
            options=["A circle", f'<img src="{STORED}" alt="A blue square">'],
        )
    )
    assert errors == {}
    assert f'<img src="{STORED}" alt="A red circle">' in values.stem
    assert values.options[1] == ("B", f'<img src="{STORED}" alt="A blue square">')


def test_the_editor_shows_the_alt_text_error_and_saves_nothing(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/new/",
        item_form_data(external_id="ALT-1", option_b=f'<img src="{STORED}" alt="">'),
    )
    assert response.status_code == 400
    assert OPTION_B_MESSAGE in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.filter(external_id="ALT-1").exists()


def test_a_csv_import_names_the_line_and_column_of_an_image_without_alt(client_for, alpha_teacher):
    text = (
        "external_id,stem,option_a,option_b,correct_key\n"
        "IMG-1,Fine,1,2,A\n"
        f'IMG-2,"Look: <img src=""{STORED}"">",1,2,A\n'
    )
    response = client_for(alpha_teacher).post(
        "/items/import/", {"file": SimpleUploadedFile("items.csv", text.encode(), "text/csv")}
    )
    assert response.status_code == 400
    problems = [str(problem) for problem in response.context["plan"].problems]
    assert problems == [f"Line 3, column 'stem': {STEM_MESSAGE}"]
    with in_schema(alpha_teacher.schema_name):
        assert not Item.objects.exists()


def test_the_api_refuses_an_image_without_alt(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/api/items/",
        json.dumps(_raw(options=["One", f'<img src="{STORED}">'])),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"option_b": [OPTION_B_MESSAGE]}


# --- The editor's upload -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alpha_teacher", "alpha_admin"])
def test_staff_upload_an_image_and_get_its_url(client_for, personas, who, media_root):
    data = _png()
    response = _upload(client_for(personas[who]), data, "photo.jpg")
    assert response.status_code == 200
    assert response.json() == {"url": media.image_url(data, "png")}
    stored = list(media_root.rglob("*.png"))
    assert [path.parent.name for path in stored] == [personas[who].schema_name]
    assert client_for(personas["alpha_student"]).get(response.json()["url"]).status_code == 200


def test_students_and_visitors_cannot_upload(client_for, alpha_student, alpha_teacher, media_root):
    assert _upload(client_for(alpha_student), _png()).status_code == 403
    anonymous = _upload(client_for(host=alpha_teacher.host), _png())
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert list(media_root.rglob("*.*")) == []


def test_a_teacher_of_another_school_cannot_upload_there_nor_see_its_images(
    client_for, alpha_teacher, beta_teacher, media_root
):
    beta = client_for(beta_teacher)
    at_alpha = beta.post(
        "/items/images/",
        {"image": SimpleUploadedFile("x.png", _png(), "image/png")},
        HTTP_HOST=alpha_teacher.host,
    )
    assert at_alpha.status_code == 302  # beta's session means nothing at alpha
    assert list(media_root.rglob("*.*")) == []
    url = _upload(client_for(alpha_teacher), _png("green")).json()["url"]
    assert beta.get(url).status_code == 404


def test_the_upload_needs_the_csrf_token(alpha_teacher, media_root):
    client = Client(HTTP_HOST=alpha_teacher.host, enforce_csrf_checks=True)
    with in_schema(alpha_teacher.schema_name):
        client.force_login(alpha_teacher.user, backend="dreamseed.accounts.backends.AccountBackend")
    assert _upload(client, _png()).status_code == 403
    assert list(media_root.rglob("*.*")) == []


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg",
         "logo.svg is an SVG drawing, which can carry scripts: use PNG or JPEG."),
        (b"%PDF-1.7", "sheet.png", "sheet.png is not a readable image."),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 2_000_001, "huge.png", "huge.png is larger than 2 MB."),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 2_100_000, "huger.png", "The image is larger than 2 MB."),
    ],
)  # fmt: skip
def test_a_refused_upload_is_a_400_with_the_reason(client_for, alpha_teacher, media_root, data,
                                                   name, error):  # fmt: skip
    response = _upload(client_for(alpha_teacher), data, name)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert list(media_root.rglob("*.*")) == []


def test_an_upload_without_a_file_says_so(client_for, alpha_teacher, media_root):
    response = client_for(alpha_teacher).post("/items/images/", {})
    assert response.status_code == 400
    assert response.json() == {"error": "Choose an image file to upload."}
    assert client_for(alpha_teacher).get("/items/images/").status_code == 405


def test_an_item_with_images_is_edited_and_saved_unchanged(client_for, alpha_teacher):
    stem = f'Which shape is this? <img src="{STORED}" alt="A blue square">'
    client = client_for(alpha_teacher)
    response = client.post("/items/new/", item_form_data(external_id="IMG-EDIT", stem=stem))
    assert response.status_code == 302
    with in_schema(alpha_teacher.schema_name):
        item = Item.objects.get(external_id="IMG-EDIT")
        saved = item.current_version.stem
    form = client.get(f"/items/{item.pk}/edit/").context["form"]
    assert form.initial["stem"] == stem  # the teacher edits what they wrote
    client.post(f"/items/{item.pk}/edit/", item_form_data(external_id="IMG-EDIT", stem=stem))
    with in_schema(alpha_teacher.schema_name):
        item.refresh_from_db()
        assert item.current_version.stem == saved == f"<p>{stem}</p>"
        assert item.versions.count() == 1
