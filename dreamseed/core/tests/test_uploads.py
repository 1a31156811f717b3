"""Every upload is size-limited and looked at before it is trusted: a roster, an item file on the
page and through the API, and any request above the global limit. A refused upload writes
nothing."""

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import SimpleUploadedFile

from dreamseed.classes.tests.conftest import make_class
from dreamseed.core.uploads import RequestSizeLimitUploadHandler, megabytes, upload_check
from dreamseed.testing import in_schema

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
XLSX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"
# Valid UTF-8, yet no spreadsheet writes these control characters.
BINARY_BLOB = bytes(range(1, 9)) * 64
ROSTER = "first_name,last_name,username,grade\nAda,Lovelace,ada,5\n"
ITEMS = "stem,option_a,option_b,correct_key\nWhat is 1 + 1?,2,3,A\n"


@pytest.fixture
def math_class(alpha_teacher):
    return make_class(alpha_teacher, "Uploads 5A")


def _counts(persona):
    from dreamseed.accounts.models import User
    from dreamseed.classes.models import RosterImport
    from dreamseed.itembank.models import Item, ItemImport

    with in_schema(persona.schema_name):
        return {
            "users": User.objects.count(),
            "roster_imports": RosterImport.objects.count(),
            "items": Item.objects.count(),
            "item_imports": ItemImport.objects.count(),
        }


def _roster(client, school_class, data, name="roster.csv"):
    return client.post(
        f"/classes/{school_class.pk}/import/", {"file": SimpleUploadedFile(name, data)}
    )


def _file_errors(response) -> str:
    return " ".join(response.context["form"].errors["file"])


# --- Roster CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("roster.csv", PNG, "This file is a PNG image, not UTF-8 CSV text"),
        ("roster.csv", XLSX, "ZIP archive (an Excel or OpenDocument workbook is one)"),
        ("roster.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "This file is a PDF"),
        ("roster.csv", BINARY_BLOB, "does not look like a CSV file: it holds binary data"),
        ("roster.csv", b"\xff\xfe" + "first_name".encode("utf-16-le"), "not UTF-8 text"),
        (
            "roster.xlsx",
            ROSTER.encode(),
            "Upload a CSV file (.csv, .txt); “roster.xlsx” is not one.",
        ),
        ("roster", ROSTER.encode(), "is not one"),
    ],
)
def test_a_roster_that_is_not_csv_text_is_refused_and_nothing_is_written(
    client_for, alpha_teacher, math_class, name, data, message
):
    before = _counts(alpha_teacher)
    response = _roster(client_for(alpha_teacher), math_class, data, name)
    assert response.status_code == 400
    assert message in _file_errors(response)
    assert _counts(alpha_teacher) == before


def test_a_roster_over_1_mb_names_the_limit(client_for, alpha_teacher, math_class):
    before = _counts(alpha_teacher)
    data = ROSTER.encode() + b"Alan,Turing,alan,5\n" * 60_000
    response = _roster(client_for(alpha_teacher), math_class, data)
    assert response.status_code == 400
    assert "The file is larger than 1 MB (it is 1.14 MB)." in _file_errors(response)
    assert _counts(alpha_teacher) == before


def test_a_plain_text_roster_is_accepted(client_for, alpha_teacher, math_class):
    response = _roster(client_for(alpha_teacher), math_class, ROSTER.encode(), "roster.txt")
    assert response.status_code == 302
    assert "/import/" in response["Location"]


# --- Item files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "items.csv",
            PNG,
            "This file is a PNG image, not UTF-8 CSV, JSON, Moodle XML, GIFT or QTI text",
        ),
        ("items.json", PNG, "This file is a PNG image"),
        ("items.json", XLSX, "ZIP archive"),
        ("items.csv", BINARY_BLOB, "does not look like a CSV, JSON, Moodle XML, GIFT or QTI file"),
        ("items.json", b'{"format": "dreamseed-items", "items": [', "JSON cannot be read"),
        ("items.xml", ITEMS.encode(), "The XML cannot be read: syntax error (line 1, column 1)"),
        (
            "items.pdf",
            b"%PDF-1.7",
            "Upload a CSV, JSON, Moodle XML, GIFT or QTI file (.csv, .json, .txt, .xml, .gift, .zip)",
        ),
        ("items.exe", b"MZ\x90\x00\x03", "“items.exe” is not one"),
    ],
)
def test_an_item_file_that_is_not_csv_or_json_text_is_refused(
    client_for, alpha_teacher, name, data, message
):
    before = _counts(alpha_teacher)
    response = client_for(alpha_teacher).post(
        "/items/import/", {"file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 400
    assert message in _file_errors(response)
    assert _counts(alpha_teacher) == before


def test_an_item_file_over_the_limit_names_it(client_for, alpha_teacher, monkeypatch):
    monkeypatch.setattr("dreamseed.itembank.import_export.IMPORT_MAX_BYTES", 50_000)
    before = _counts(alpha_teacher)
    data = ITEMS.encode() + b"Another question,1,2,A\n" * 3_000
    response = client_for(alpha_teacher).post(
        "/items/import/", {"file": SimpleUploadedFile("items.csv", data)}
    )
    assert response.status_code == 400
    assert "The file is larger than 0.05 MB (it is 0.0691 MB)." in _file_errors(response)
    assert _counts(alpha_teacher) == before


def test_the_api_refuses_a_picture_named_csv(client_for, alpha_teacher):
    before = _counts(alpha_teacher)
    response = client_for(alpha_teacher).post(
        "/api/items/import/", {"file": SimpleUploadedFile("items.csv", PNG)}
    )
    assert response.status_code == 400
    assert "PNG image" in response.json()["errors"][0]["message"]
    assert _counts(alpha_teacher) == before


def test_the_api_answers_413_to_a_json_body_over_the_limit(client_for, alpha_teacher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = _counts(alpha_teacher)
    body = json.dumps({"content": ITEMS + "Q,1,2,A\n" * 2_000, "format": "csv"})
    response = client_for(alpha_teacher).post(
        "/api/items/import/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "larger than 0.01 MB" in response.json()["detail"]
    assert _counts(alpha_teacher) == before
    small = client_for(alpha_teacher).post(
        "/api/items/import/",
        json.dumps({"content": ITEMS, "dry_run": True}),
        content_type="application/json",
    )
    assert small.status_code == 200


# --- Above the global limit ----------------------------------------------------------------------


def test_an_upload_above_the_global_limit_gets_the_friendly_400_page(
    client_for, alpha_teacher, math_class, settings
):
    settings.UPLOAD_MAX_REQUEST_BYTES = 20_000
    before = _counts(alpha_teacher)
    data = ROSTER.encode() + b"Alan,Turing,alan,5\n" * 2_000
    response = _roster(client_for(alpha_teacher), math_class, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "We could not accept what you sent" in page
    assert "a single upload can be at most 0.02 MB" in page
    assert "Traceback" not in page
    assert _counts(alpha_teacher) == before


def test_form_fields_above_the_memory_limit_get_the_friendly_400_page(
    client_for, alpha_teacher, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = client_for(alpha_teacher).post("/classes/new/", {"name": "x" * 20_000})
    assert response.status_code == 400
    assert "We could not accept what you sent" in response.content.decode()


def test_too_many_fields_get_the_friendly_400_page(client_for, alpha_teacher, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = {f"field{index}": "x" for index in range(20)}
    response = client_for(alpha_teacher).post("/classes/new/", data)
    assert response.status_code == 400
    assert "We could not accept what you sent" in response.content.decode()


def test_the_handler_counts_bytes_when_the_length_header_lies(settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 100
    handler = RequestSizeLimitUploadHandler()
    handler.handle_raw_input(None, {}, content_length=10, boundary=b"x")
    assert handler.receive_data_chunk(b"a" * 60, 0) == b"a" * 60
    with pytest.raises(RequestDataTooBig):
        handler.receive_data_chunk(b"a" * 60, 60)
    with pytest.raises(RequestDataTooBig):
        RequestSizeLimitUploadHandler().handle_raw_input(None, {}, 101, b"x")


# --- The checks themselves -----------------------------------------------------------------------


def test_a_multibyte_character_cut_by_the_sniffed_block_is_not_an_encoding_error():
    from dreamseed.core.uploads import SNIFF_BYTES

    data = ("é" * SNIFF_BYTES).encode()  # two bytes each: the block ends mid-character or not
    upload_check(
        SimpleUploadedFile("r.csv", data[: SNIFF_BYTES + 1]),
        max_bytes=10**6,
        extensions=(".csv",),
        what="CSV",
    )


def test_excel_for_mac_line_breaks_inside_cells_are_text():
    upload_check(
        SimpleUploadedFile("r.csv", b'first_name,note\nAda,"one\x0btwo"\n'),
        max_bytes=10**6,
        extensions=(".csv",),
        what="CSV",
    )


def test_limits_are_named_in_megabytes():
    assert megabytes(1_000_000) == "1 MB"
    assert megabytes(30_000_000) == "30 MB"
    assert megabytes(2_500_000) == "2.5 MB"


def test_the_json_parser_refuses_a_long_body_before_reading_it(settings):
    from io import BytesIO
    from types import SimpleNamespace

    from dreamseed.core.uploads import LimitedJSONParser, RequestTooLarge

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    request = SimpleNamespace(META={"CONTENT_LENGTH": "101"})
    with pytest.raises(RequestTooLarge):
        LimitedJSONParser().parse(BytesIO(b"{}"), parser_context={"request": request})
    request.META["CONTENT_LENGTH"] = "2"
    assert LimitedJSONParser().parse(BytesIO(b"{}"), parser_context={"request": request}) == {}


class _FileError(Exception):
    pass


def test_upload_decode_reads_utf8_with_or_without_a_byte_order_mark():
    from dreamseed.core.uploads import upload_decode

    for data in ("name\nÅsa\n".encode(), b"\xef\xbb\xbf" + "name\nÅsa\n".encode()):
        assert upload_decode(data, max_bytes=1000, error=_FileError, not_text_message="x") == (
            "name\nÅsa\n"
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a" * 2_000_001, "The file is larger than 2 MB. Split it into smaller files."),
        (b"name\n\xe9t\xe9\n", "The file is not UTF-8 text (a problem at byte 6)."),
        (b"name\x00\x01\x02\n", "Not a CSV file."),
        (b" \n\t\n", "The file is empty."),
    ],
)
def test_upload_decode_raises_the_callers_error_with_an_actionable_message(data, message):
    from dreamseed.core.uploads import upload_decode

    with pytest.raises(_FileError) as raised:
        upload_decode(
            data, max_bytes=2_000_000, error=_FileError, not_text_message="Not a CSV file."
        )
    assert str(raised.value).startswith(message)
