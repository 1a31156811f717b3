"""Opening the PDFs the tests make: text (pdftotext), pages (pypdf), fonts (pdffonts), and a page
as an image (pdftoppm)."""

import io
import subprocess
import tempfile
import zipfile
from pathlib import Path

from pypdf import PdfReader

A4_POINTS = (595, 842)
LETTER_POINTS = (612, 792)


def pdf_text(data: bytes) -> str:
    """The PDF's text in reading order, whitespace collapsed (pdftotext, from poppler-utils)."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode("utf-8").split())


def page_sizes(data: bytes) -> list[tuple[int, int]]:
    reader = PdfReader(io.BytesIO(data))
    return [
        (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
        for page in reader.pages
    ]


def embedded_fonts(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return subprocess.run(
            ["pdffonts", handle.name], capture_output=True, check=True, text=True
        ).stdout


def page_png(data: bytes, *, page: int = 1, dpi: int = 60, out: Path | None = None) -> Path:
    """Page `page` as a PNG (pdftoppm); returns the PNG's path."""
    folder = Path(tempfile.mkdtemp(prefix="report-png-"))
    pdf = folder / "report.pdf"
    pdf.write_bytes(data)
    stem = out.with_suffix("") if out else folder / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
         str(pdf), str(stem)],
        check=True,
    )  # fmt: skip
    return stem.with_suffix(".png")


def ink_share(png: Path) -> tuple[float, float]:
    """(share of non-white pixels, share of clearly coloured pixels) of an image."""
    from PIL import Image

    image = Image.open(png).convert("RGB")
    pixels = list(image.get_flattened_data())
    inked = sum(1 for r, g, b in pixels if min(r, g, b) < 200)
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 20)
    return inked / len(pixels), coloured / len(pixels)


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
