"""Images in item stems and options: checked, stored once per content, served to the school.

An image is stored under `items/<school schema>/<sha256>.<ext>` in the default storage (local
media in development, the private bucket in production) and referenced from an item's HTML as
`/media/items/<sha256>.<ext>`, which `itembank.views.item_image` serves to signed-in members of
the school whose schema holds it. The name is the hash of the bytes, so saving the same image
twice stores it once, and a planned import knows every URL before anything is written.
"""

import hashlib
import io
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils.translation import gettext as _

IMAGE_MAX_BYTES = 2_000_000
IMAGE_MAX_PIXELS = 25_000_000
IMAGE_URL_PREFIX = "/media/items/"
# Pillow's format name -> the extension (and content type) we store.
FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
IMAGE_NAME = re.compile(r"^(?P<digest>[0-9a-f]{64})\.(?P<ext>png|jpeg|gif|webp)$")


class ImageError(ValueError):
    """An upload or package file that cannot be an item image; the message says why."""


def image_check(data: bytes, name: str = "") -> str:
    """The extension of a valid image (png, jpeg, gif, webp), or ImageError."""
    from PIL import Image, UnidentifiedImageError

    shown = name or _("the image")
    if len(data) > IMAGE_MAX_BYTES:
        raise ImageError(_("%(name)s is larger than %(limit)s MB.") % {"name": shown, "limit": 2})
    if not data:
        raise ImageError(_("%(name)s is empty.") % {"name": shown})
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) or b"<svg" in head:
        raise ImageError(
            _("%(name)s is an SVG drawing, which can carry scripts: use PNG or JPEG.")
            % {"name": shown}
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = FORMATS.get(image.format or "")
            width, height = image.size
            if kind is None:
                raise ImageError(
                    _("%(name)s is not a PNG, JPEG, GIF or WebP image.") % {"name": shown}
                )
            if width * height > IMAGE_MAX_PIXELS:
                raise ImageError(
                    _("%(name)s is %(w)s × %(h)s pixels: make it smaller.")
                    % {"name": shown, "w": width, "h": height}
                )
            image.verify()
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageError(_("%(name)s is not a readable image.") % {"name": shown}) from error
    except Image.DecompressionBombError as error:
        raise ImageError(_("%(name)s has too many pixels.") % {"name": shown}) from error
    return kind


def image_name(data: bytes, ext: str) -> str:
    return f"{hashlib.sha256(data).hexdigest()}.{ext}"


def image_url(data: bytes, ext: str) -> str:
    """Where the image will be served from (nothing is written)."""
    return IMAGE_URL_PREFIX + image_name(data, ext)


def _storage_name(name: str, schema: str | None = None) -> str:
    return f"items/{schema or connection.schema_name}/{name}"


def image_save(data: bytes, ext: str) -> str:
    """Store the image for this school (once) and return its URL."""
    name = image_name(data, ext)
    path = _storage_name(name)
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    return IMAGE_URL_PREFIX + name


def image_open(name: str):
    """(file, content type) of one of this school's stored images, or None."""
    match = IMAGE_NAME.match(name)
    if not match:
        return None
    path = _storage_name(name)
    if not default_storage.exists(path):
        return None
    return default_storage.open(path, "rb"), CONTENT_TYPES[match["ext"]]
