"""Round trips: a bank with one item of every kind, with IRT parameters and images, exported by
one school (alpha) and imported through the ordinary upload -> preview -> confirm pages into
another school that has never seen it (beta) comes back the same: content, answers, metadata,
parameters and the image bytes."""

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dreamseed.itembank import media
from dreamseed.itembank.models import Item, ItemVersion
from dreamseed.testing import in_schema

pytestmark = pytest.mark.django_db

FIELDS = ("status", "subject", "grade", "content_area", "standards", "model", "a", "b", "c", "d",
          "se_a", "se_b", "se_c", "steps")  # fmt: skip
OPTIONS = [
    {"key": "A", "text": "the <em>first</em> one"},
    {"key": "B", "text": "$\\frac{1}{2}$"},
    {"key": "C", "text": "gamma"},
]


def _png(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), color).save(buffer, "PNG")
    return buffer.getvalue()


def _bank(persona) -> dict[str, dict]:
    """One item of every kind at `persona`'s school; returns what each should look like."""
    stored, small = _png((10, 120, 200)), _png((250, 200, 0))
    inline = "data:image/png;base64," + base64.b64encode(small).decode()
    with in_schema(persona.schema_name):
        url = media.image_save(stored, "png")
    common = {"subject": "Mathematics", "grade": "5", "model": "3PL", "c": 0.2, "d": 1.0}
    specs = {
        "RT-single": dict(
            kind="single",
            stem=f'<p>Which bar is blue? <img src="{url}" alt="two bars"></p>',
            options=OPTIONS,
            correct_key="B",
            answer={},
            fields=dict(
                common,
                content_area="Fractions",
                standards=["5.NF.A.1", "bars"],
                a=1.2345678901234567,
                b=-0.3,
                se_a=0.11,
                se_b=0.07,
                se_c=0.01,
            ),
        ),
        "RT-multiple": dict(
            kind="multiple",
            stem="<p>Pick the two odd ones</p><ul><li>think first</li></ul>",
            options=OPTIONS,
            correct_key="",
            answer={"keys": ["A", "C"]},
            fields=dict(common, content_area="Fractions", standards=[], a=0.9, b=1.25),
        ),
        "RT-truefalse": dict(
            kind="truefalse",
            stem=f'<p>The square is yellow. <img src="{inline}" alt="a yellow square"></p>',
            options=[],
            correct_key="F",
            answer={},
            fields=dict(
                common, content_area="Geometry", standards=["G.1"], a=1.0, b=0.0, model="2PL", c=0.0
            ),
        ),
        "RT-numeric": dict(
            kind="numeric",
            stem="<p>How long is the side, in cm?</p>",
            options=[],
            correct_key="",
            answer={
                "value": 3.5,
                "tolerance": 0.05,
                "units": ["cm", "centimetres"],
                "unit_required": True,
            },
            fields=dict(common, content_area="Geometry", standards=[], a=1.5, b=-1.75),
        ),
        "RT-text": dict(
            kind="text",
            stem="<p>Which city is the capital of France?</p>",
            options=[],
            correct_key="",
            answer={"accepted": ["Paris", "the city of *"], "case_sensitive": True},
            fields=dict(common, content_area="", standards=[], a=0.8, b=0.4, model="1PL", c=0.0),
        ),
        "RT-ordering": dict(
            kind="ordering",
            stem="<p>Smallest first</p>",
            options=OPTIONS,
            correct_key="",
            answer={"order": ["B", "C", "A"]},
            fields=dict(
                common, content_area="Fractions", standards=[], a=1.1, b=0.9, d=0.95, model="4PL"
            ),
        ),
        "RT-extended": dict(
            kind="extended",
            stem="<p>Describe how you would measure a table.</p>",
            options=[],
            correct_key="",
            answer={},
            fields=dict(
                common, content_area="Writing", standards=[], a=1.0, b=None, status="pilot"
            ),
        ),
        # Partial credit: GPCM/GRM items with their steps (b is the mean of the steps).
        "RT-partial-multiple": dict(
            kind="multiple",
            stem="<p>Tick every prime</p>",
            options=OPTIONS,
            correct_key="",
            answer={"keys": ["A", "C"], "scoring": "partial"},
            fields=dict(
                common,
                content_area="Primes",
                standards=[],
                model="GPCM",
                a=1.1,
                b=0.1,
                c=0.0,
                steps=[-0.5, 0.7],
            ),
        ),
        "RT-partial-numeric": dict(
            kind="numeric",
            stem="<p>Estimate the mass in kg</p>",
            options=[],
            correct_key="",
            answer={
                "value": 10.0,
                "tolerance": 0.1,
                "units": [],
                "unit_required": False,
                "partial_tolerance": 1.0,
            },
            fields=dict(
                common,
                content_area="Primes",
                standards=[],
                model="GRM",
                a=0.7,
                b=0.125,
                c=0.0,
                steps=[-1.25, 1.5],
            ),
        ),
        "RT-rubric": dict(
            kind="extended",
            stem="<p>Explain your method.</p>",
            options=[],
            correct_key="",
            answer={"max_points": 3},
            fields=dict(
                common,
                content_area="Writing",
                standards=[],
                model="GPCM",
                a=0.9,
                b=0.0,
                c=0.0,
                steps=[-1.0, 0.0, 1.0],
            ),
        ),
    }
    with in_schema(persona.schema_name):
        for external_id, spec in specs.items():
            fields = {"status": "active", "se_a": None, "se_b": None, "se_c": None}
            fields.update(spec["fields"])
            item = Item.objects.create(external_id=external_id, **fields)
            version = ItemVersion.objects.create(
                item=item,
                number=1,
                kind=spec["kind"],
                stem=spec["stem"],
                options=spec["options"],
                correct_key=spec["correct_key"],
                answer=spec["answer"],
            )
            item.current_version = version
            item.save(update_fields=["current_version"])
    # An inline image travels as a file and comes back as a stored image.
    return {
        "stored": stored,
        "url": url,
        "inline": inline,
        "inline_url": media.image_url(small, "png"),
    }


def _preview(client, data: bytes, name: str, content_type: str):
    """Upload a file to the import page; (its preview's address, the preview page)."""
    response = client.post("/items/import/", {"file": SimpleUploadedFile(name, data, content_type)})
    assert response.status_code == 302, response.context and [
        str(problem) for problem in response.context["plan"].problems
    ]
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    return response["Location"], preview


def _import(client, data: bytes, name: str, content_type: str):
    """Upload, preview, confirm; returns the preview page."""
    location, preview = _preview(client, data, name, content_type)
    done = client.post(location, {"digest": preview.context["digest"]}, follow=True)
    assert done.status_code == 200
    return preview


def _snapshot(persona) -> dict[str, dict]:
    with in_schema(persona.schema_name):
        items = Item.objects.select_related("current_version").order_by("external_id")
        return {
            item.external_id: {
                **{name: getattr(item, name) for name in FIELDS},
                "kind": item.current_version.kind,
                "stem": item.current_version.stem,
                "options": item.current_version.options,
                "correct_key": item.current_version.correct_key,
                "answer": item.current_version.answer,
            }
            for item in items
        }


def _expected(bank: dict, snapshot: dict) -> dict:
    return {
        external_id: {**row, "stem": row["stem"].replace(bank["inline"], bank["inline_url"])}
        for external_id, row in snapshot.items()
    }


def _download(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _ordered_texts(row: dict) -> list[str]:
    texts = {option["key"]: option["text"] for option in row["options"]}
    return [texts[key] for key in row["answer"]["order"]]


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_a_qti_package_round_trips_into_a_fresh_school(
    client_for, alpha_teacher, beta_teacher, media_root
):
    bank = _bank(alpha_teacher)
    package = _download(client_for(alpha_teacher), "/items/export.qti.zip")
    before = _expected(bank, _snapshot(alpha_teacher))
    assert _snapshot(beta_teacher) == {}

    preview = _import(client_for(beta_teacher), package, "bank.zip", "application/zip")
    assert preview.context["counts"]["create"] == len(before)
    after = _snapshot(beta_teacher)
    for external_id, row in before.items():
        assert after[external_id] == row, external_id
    assert sorted(after) == sorted(before)
    with in_schema(beta_teacher.schema_name):
        handle, _content_type = media.image_open(bank["url"][len(media.IMAGE_URL_PREFIX) :])
        with handle:
            assert handle.read() == bank["stored"]

    # Exported again from beta, the package imports into beta again as "unchanged".
    again = _download(client_for(beta_teacher), "/items/export.qti.zip")
    _location, preview = _preview(client_for(beta_teacher), again, "again.zip", "application/zip")
    assert preview.context["counts"]["unchanged"] == len(before)


def test_moodle_xml_round_trips_into_a_fresh_school(
    client_for, alpha_teacher, beta_teacher, media_root
):
    bank = _bank(alpha_teacher)
    text = _download(client_for(alpha_teacher), "/items/export.moodle.xml")
    before = _expected(bank, _snapshot(alpha_teacher))

    preview = _import(client_for(beta_teacher), text, "bank.xml", "application/xml")
    assert preview.context["counts"]["create"] == len(before)
    after = _snapshot(beta_teacher)
    assert sorted(after) == sorted(before)
    for external_id, row in before.items():
        imported = after[external_id]
        if row["kind"] == "ordering":
            # Moodle keeps the answers in their right order only (it shuffles them for each
            # student), so the options come back in that order under new keys.
            assert _ordered_texts(imported) == _ordered_texts(row)
            assert sorted(o["text"] for o in imported["options"]) == sorted(
                o["text"] for o in row["options"]
            )
            imported = {**imported, "options": row["options"], "answer": row["answer"]}
        assert imported == row, external_id
    with in_schema(beta_teacher.schema_name):
        handle, _content_type = media.image_open(bank["url"][len(media.IMAGE_URL_PREFIX) :])
        with handle:
            assert handle.read() == bank["stored"]
