"""Item images: what is accepted, where it is stored, and who may load it."""

import io

import pytest
from PIL import Image

from dreamseed.itembank import media
from dreamseed.testing import in_schema


def _png(size=(4, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_an_image_is_recognised_by_its_content_not_its_name():
    assert media.image_check(_png(), "photo.jpg") == "png"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "diagram.png is empty."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
         "diagram.png is an SVG drawing"),
        (b"%PDF-1.7 not an image", "diagram.png is not a readable image."),
        (b"\x89PNG\r\n\x1a\n" + b"x" * 2_000_001, "diagram.png is larger than 2 MB."),
    ],
)  # fmt: skip
def test_what_is_not_an_image_is_refused_with_the_reason(data, message):
    with pytest.raises(media.ImageError, match=message):
        media.image_check(data, "diagram.png")


def test_a_huge_canvas_is_refused():
    buffer = io.BytesIO()
    Image.new("1", (6000, 5000)).save(buffer, "PNG")  # small file, 30 million pixels
    with pytest.raises(media.ImageError, match="6000 × 5000 pixels"):
        media.image_check(buffer.getvalue(), "map.png")


@pytest.mark.django_db
def test_images_are_stored_once_and_served_only_to_their_school(
    client_for, alpha_teacher, alpha_student, beta_teacher, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    data = _png()
    with in_schema(alpha_teacher.schema_name):
        url = media.image_save(data, "png")
        assert media.image_save(data, "png") == url == media.image_url(data, "png")
    assert len(list(tmp_path.rglob("*.png"))) == 1
    for persona in (alpha_teacher, alpha_student):
        response = client_for(persona).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == data
    assert client_for(beta_teacher).get(url).status_code == 404
    assert client_for(host=alpha_teacher.host).get(url).status_code == 404  # signed out
    assert client_for(alpha_teacher).get("/media/items/../../etc/passwd").status_code == 404
    assert client_for(alpha_teacher).get("/media/items/" + "0" * 64 + ".png").status_code == 404
