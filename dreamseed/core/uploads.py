"""Uploaded files: size limits, and a look at the bytes before trusting a file's name.

Each upload form checks its own limit (a roster is at most 1 MB, an item file 30 MB) with a
message naming it. Above those, `RequestSizeLimitUploadHandler` stops any multipart request
larger than UPLOAD_MAX_REQUEST_BYTES before it is written to disk, and `LimitedJSONParser` does
the same for API bodies (which Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not cover, because
DRF reads the stream itself): the person gets the friendly 400 page (templates/400.html) or a
413 JSON answer, never a 500.
"""

import codecs
import io
import re
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

# Enough of the file's start to recognise a format and to judge whether it is text.
SNIFF_BYTES = 64 * 1024
# Formats people upload by mistake (an exported workbook, a screenshot, a PDF), by their first
# bytes. Their names appear in the error message.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"RIFF", "RIFF media file (an image, sound or video)"),
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP archive (an Excel or OpenDocument workbook is one)"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97-2003 workbook"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "program"),
)
# Control characters that never occur in a spreadsheet's CSV or in JSON text. Tab, line feed,
# carriage return and form feed do, and Excel for Mac writes a vertical tab for a line break
# inside a cell.
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f]")


def megabytes(size: int) -> str:
    """A byte limit the way the messages name it: "1 MB", "30 MB", "2.5 MB"."""
    value = size / 1_000_000
    return _("%(size)s MB") % {"size": f"{value:.3g}"}


def file_kind(head: bytes) -> str | None:
    """The name of a binary format recognised from a file's first bytes, or None."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def text_looks_binary(text: str) -> bool:
    """True when decoded text holds characters no CSV or JSON file has (NUL and friends)."""
    return _BINARY_CONTROLS.search(text) is not None


def upload_decode(
    data: bytes, *, max_bytes: int, error: type[Exception], not_text_message: str
) -> str:
    """The uploaded bytes as text: UTF-8, with or without a byte-order mark.

    Raises ``error`` (the caller's file-level exception) with a message saying what to do: the
    file is over ``max_bytes``, not UTF-8, binary (``not_text_message``, naming the expected
    kind of file) or empty.
    """
    if len(data) > max_bytes:
        raise error(
            _("The file is larger than %(size)s MB. Split it into smaller files.")
            % {"size": max_bytes // 1_000_000}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise error(
            _(
                "The file is not UTF-8 text (a problem at byte %(position)s). In your spreadsheet, "
                "save it as “CSV UTF-8”."
            )
            % {"position": problem.start + 1}
        ) from problem
    if text_looks_binary(text):
        raise error(not_text_message)
    if not text.strip():
        raise error(_("The file is empty."))
    return text


def upload_check(upload, *, max_bytes: int, extensions: tuple[str, ...], what: str) -> None:
    """Refuse an upload that is too large, has the wrong extension, or is not UTF-8 text.

    ``extensions`` are lower-case with the dot (".csv"); ``what`` names the expected kind of file
    in messages ("CSV", "CSV or JSON"). Reads at most SNIFF_BYTES and rewinds the file, so the
    caller reads it whole afterwards. Raises forms.ValidationError with a message saying what to
    do instead.
    """
    if upload.size > max_bytes:
        raise forms.ValidationError(
            _("The file is larger than %(limit)s (it is %(actual)s). Split it into smaller files.")
            % {"limit": megabytes(max_bytes), "actual": megabytes(upload.size)},
            code="too_large",
        )
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in extensions:
        raise forms.ValidationError(
            _("Upload a %(what)s file (%(extensions)s); “%(name)s” is not one.")
            % {"what": what, "extensions": ", ".join(extensions), "name": upload.name},
            code="extension",
        )
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not head.strip():
        raise forms.ValidationError(_("The file is empty."), code="empty")
    kind = file_kind(head)
    if kind is not None:
        raise forms.ValidationError(
            _(
                "This file is a %(kind)s, not UTF-8 %(what)s text, even though its name ends in "
                "%(suffix)s. In your spreadsheet, save it as “CSV UTF-8”."
            )
            % {"kind": kind, "what": what, "suffix": suffix},
            code="binary",
        )
    # The sniffed block may end inside a multi-byte character: decode incrementally.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError as error:
        raise forms.ValidationError(
            _(
                "The file is not UTF-8 text (a problem at byte %(position)s). In your spreadsheet, "
                "save it as “CSV UTF-8”."
            )
            % {"position": error.start + 1},
            code="encoding",
        ) from error
    if text_looks_binary(text):
        raise forms.ValidationError(
            _("This does not look like a %(what)s file: it holds binary data.") % {"what": what},
            code="binary",
        )


class RequestSizeLimitUploadHandler(FileUploadHandler):
    """Stop a multipart request larger than UPLOAD_MAX_REQUEST_BYTES before it reaches disk.

    Raising RequestDataTooBig (a SuspiciousOperation) makes Django answer 400 with
    templates/400.html. Listed first in FILE_UPLOAD_HANDLERS, so it also counts the bytes of a
    request whose length header lies.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    @staticmethod
    def _too_big() -> RequestDataTooBig:
        return RequestDataTooBig(
            f"Upload larger than UPLOAD_MAX_REQUEST_BYTES ({settings.UPLOAD_MAX_REQUEST_BYTES})"
        )

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.UPLOAD_MAX_REQUEST_BYTES:
            raise self._too_big()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_REQUEST_BYTES:
            raise self._too_big()
        return raw_data

    def file_complete(self, file_size):
        return None


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        _(
            "The request body is larger than %(limit)s. Send a large file as a multipart "
            "upload instead."
        )
        % {"limit": megabytes(limit)}
    )


def api_exception_handler(exc, context):
    """DRF's handler, plus a 413 JSON answer when Django refused a body as too large (DRF reads
    `request.body` itself when something has touched the stream, and Django checks it then)."""
    # Imported here: rest_framework.views reads the API settings, which name this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, RequestDataTooBig):
        exc = _too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return exception_handler(exc, context)


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies above DATA_UPLOAD_MAX_MEMORY_SIZE with a 413 and bodies
    nested deeper than JSON_MAX_DEPTH with a 400, before parsing (dreamseed/core/jsonlimits.py).

    DRF reads the request stream itself, so Django's own limit never sees JSON bodies.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        from dreamseed.core.jsonlimits import JSONLimitError, json_limits_check

        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0  # Django reads nothing of a body whose length it cannot parse
        if limit is not None and length > limit:
            raise _too_large(limit)
        body = stream.read() if stream is not None else b""
        try:
            json_limits_check(body, max_bytes=limit)
        except JSONLimitError as error:
            if error.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
                raise _too_large(limit) from error
            raise exceptions.ParseError(str(error)) from error
        return super().parse(io.BytesIO(body), media_type, parser_context)
